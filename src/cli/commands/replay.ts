import { connectKafkaClient, createKafka } from '../../kafka/index.js';
import { createLogger } from '../../logger.js';
import { applyReplay, assertGroupInactive, followReplay, formatPlan, planReplay, type ReplayTarget } from '../../replay/index.js';
import { startProgress } from '../progress.js';
import { configure } from './configure.js';
import { confirm } from './confirm.js';
import { requireTopics } from './require-topics.js';

export interface ReplayOptions {
  target: ReplayTarget;
  /** Default: the connector file's topic, else CALLSTREAM_TOPIC_EVENTS. */
  topic?: string;
  /** Default: the connector file's consumerGroup, else CALLSTREAM_CONSUMER_GROUP. */
  group?: string;
  connector?: string;
  dryRun: boolean;
  yes: boolean;
  /** After the rewind, follow the group's commits until it has read the rewound records again. */
  wait?: boolean;
}

/** `callstream replay`: rewinds the sink's consumer group (options checked by src/cli/definitions/replay.ts). */
export async function replay(options: ReplayOptions): Promise<number> {
  const { target } = options;
  const { config } = configure({ connector: options.connector });
  const logger = createLogger({ level: config.logLevel === 'info' ? 'warn' : config.logLevel });
  const groupId = options.group ?? config.consumerGroup;
  const topic = options.topic ?? config.topicEvents;
  const admin = createKafka(config, logger, '-replay').admin();
  await connectKafkaClient(admin, config);
  try {
    await requireTopics(admin, config, [{ name: topic, setting: options.topic ? '--topic' : options.connector || config.connectorFile ? 'the connector file\'s "topic" or CALLSTREAM_TOPIC_EVENTS' : 'CALLSTREAM_TOPIC_EVENTS' }]);
    await assertGroupInactive(admin, groupId);
    const plan = await planReplay(admin, groupId, topic, target);
    console.log(formatPlan(plan));
    if (options.dryRun) {
      console.log('Dry run: nothing changed.');
      return 0;
    }
    if (!options.yes && !(await confirm('Rewind the group now? [y/N] '))) {
      console.log('Nothing changed.');
      return 1;
    }
    await applyReplay(admin, plan);
    console.log(`Rewound ${groupId}. Start the sink (npm start or callstream sink) to reprocess; its /metrics show the progress (callstream_sink_consumer_lag).`);
    if (options.wait && plan.totalReprocess > 0) {
      // Progress on stderr; stdout keeps the report.
      process.stderr.write(`Waiting for ${groupId} to read ${plan.totalReprocess} record(s) again (Ctrl-C stops waiting, not the replay).\n`);
      const progress = startProgress({ label: `replay ${groupId}`, total: plan.totalReprocess });
      try {
        await followReplay(admin, plan, ({ reread }) => progress.update(reread));
      } finally {
        progress.stop();
      }
      console.log(`Caught up: ${groupId} has read the ${plan.totalReprocess} rewound record(s) again.`);
    }
    return 0;
  } finally {
    await admin.disconnect();
  }
}

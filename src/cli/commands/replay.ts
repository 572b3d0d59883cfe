import { connectKafkaClient, createKafka } from '../../kafka/index.js';
import { createLogger } from '../../logger.js';
import { applyReplay, assertGroupInactive, formatPlan, planReplay, type ReplayTarget } from '../../replay/index.js';
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
}

/** `callstream replay`: rewinds the sink's consumer group (options checked by src/cli/program.ts). */
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
    return 0;
  } finally {
    await admin.disconnect();
  }
}

import { parseArgs } from 'node:util';
import { CallstreamError } from '../../errors.js';
import { connectKafkaClient, createKafka } from '../../kafka/index.js';
import { createLogger } from '../../logger.js';
import { applyReplay, assertGroupInactive, formatPlan, parseOffsets, planReplay, type ReplayTarget } from '../../replay/index.js';
import { configure } from './configure.js';
import { confirm } from './confirm.js';

/** `callstream replay`: rewinds the sink's consumer group. */
export async function replay(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      'to-earliest': { type: 'boolean', default: false },
      from: { type: 'string' },
      offsets: { type: 'string' },
      topic: { type: 'string' },
      group: { type: 'string' },
      connector: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      yes: { type: 'boolean', default: false },
    },
  });
  const chosen = [values['to-earliest'], values.from !== undefined, values.offsets !== undefined].filter(Boolean).length;
  if (chosen !== 1) {
    console.error('Usage: callstream replay (--to-earliest | --from <ISO time> | --offsets <partition>:<offset>,...) [--topic T] [--group G] [--dry-run] [--yes]');
    return 2;
  }
  let target: ReplayTarget;
  if (values['to-earliest']) target = { kind: 'earliest' };
  else if (values.from !== undefined) {
    const at = new Date(values.from);
    if (Number.isNaN(at.getTime())) throw new CallstreamError('CFG_INVALID', `--from: expected an ISO time such as 2026-11-27T09:00:00Z, got "${values.from}"`);
    target = { kind: 'time', at };
  } else target = { kind: 'offsets', offsets: parseOffsets(values.offsets!) };

  const { config } = configure(values.connector ? ['--connector', values.connector] : []);
  const logger = createLogger({ level: config.logLevel === 'info' ? 'warn' : config.logLevel });
  const groupId = values.group ?? config.consumerGroup;
  const topic = values.topic ?? config.topicEvents;
  const admin = createKafka(config, logger, '-replay').admin();
  await connectKafkaClient(admin, config);
  try {
    await assertGroupInactive(admin, groupId);
    const plan = await planReplay(admin, groupId, topic, target);
    console.log(formatPlan(plan));
    if (values['dry-run']) {
      console.log('Dry run: nothing changed.');
      return 0;
    }
    if (!values.yes && !(await confirm('Rewind the group now? [y/N] '))) {
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

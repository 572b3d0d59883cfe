import type { Admin } from 'kafkajs';
import type { Config } from '../../config/index.js';
import { CallstreamError } from '../../errors.js';

/**
 * A replay of a topic that is not there is a mistyped name or a pipeline never started, not a
 * bug: kafkajs would retry its metadata request for half a minute and then throw a protocol
 * error with a stack. Checked first, it is one line naming the topic and the setting behind it.
 */
export async function requireTopics(admin: Admin, config: Config, topics: Array<{ name: string; setting: string }>): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((t) => !existing.has(t.name));
  if (missing.length === 0) return;
  const brokers = (config.kafkaBrokers ?? ['the local broker']).join(',');
  const named = missing.map((t) => `${t.name} (${t.setting})`).join(', ');
  throw new CallstreamError('CFG_INVALID', `No topic ${named} on ${brokers}: check the name, or start the pipeline once (it creates its topics)`);
}

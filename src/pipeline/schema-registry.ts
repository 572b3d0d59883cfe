import { FLOW_EVENT_SCHEMA, SCHEMA_NAMES, SchemaRegistryClient, type AvroCodec, type RegistrySubject } from '../codec/index.js';
import { FLOWS, flowTopic, type Config } from '../config/index.js';
import type { Logger } from '../logger.js';

/** The subjects callstream writes, by Confluent's default TopicNameStrategy (`<topic>-value`). */
export function registrySubjects(config: Config): RegistrySubject[] {
  return FLOWS.flatMap((flow) => [
    { subject: `${flowTopic(config, flow, 'events').topic}-value`, schemaName: FLOW_EVENT_SCHEMA[flow] },
    { subject: `${flowTopic(config, flow, 'raw').topic}-value`, schemaName: SCHEMA_NAMES.rawRequest },
  ]);
}

/**
 * With CALLSTREAM_SCHEMA_REGISTRY_URL set: a process that writes records (`writes`: the
 * receiver, replay-raw) registers (or looks up) callstream's schemas so the codec writes
 * Confluent's wire format; every process can then fetch writer schemas by id. A sink-only
 * process registers nothing (it writes only dead letters, which keep the original bytes),
 * so read access to the registry is enough for it. Without the URL nothing happens: the
 * codec writes single-object frames.
 */
export async function connectSchemaRegistry(codec: AvroCodec, config: Config, logger: Logger, { writes = true } = {}): Promise<void> {
  if (!config.schemaRegistryUrl) return;
  const client = new SchemaRegistryClient({ url: config.schemaRegistryUrl, username: config.schemaRegistryUsername, password: config.schemaRegistryPassword });
  const ids = await codec.useRegistry(client, writes ? registrySubjects(config) : [], { autoRegister: config.schemaRegistryAutoRegister });
  if (writes) logger.info({ registry: config.schemaRegistryUrl, subjects: Object.fromEntries(ids), autoRegister: config.schemaRegistryAutoRegister }, 'schema registry: writing Confluent wire format');
  else logger.info({ registry: config.schemaRegistryUrl }, 'schema registry: reading writer schemas by id');
}

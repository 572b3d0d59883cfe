export { AvroCodec, fingerprintOf, type SchemaVersion, type Decoded, type RegistrySubject } from './avro-codec.js';
export { SchemaRegistryClient, type SchemaRegistryOptions } from './schema-registry.js';
export { crc64Avro } from './fingerprint.js';
export { FLOW_EVENT_SCHEMA, SCHEMA_NAMES, schemasDir } from './schema-names.js';

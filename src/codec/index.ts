export { AvroCodec, fingerprintOf, type SchemaVersion, type Decoded } from './avro-codec.js';
export { crc64Avro } from './fingerprint.js';
export { SCHEMA_NAMES, schemasDir } from './schema-names.js';

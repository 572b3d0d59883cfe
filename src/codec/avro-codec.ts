import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import avro from 'avsc';
import { CallstreamError } from '../errors.js';
import { crc64Avro } from './fingerprint.js';
import { safeLongHook } from './safe-long.js';
import type { SchemaRegistryClient } from './schema-registry.js';

/** Avro single-object encoding: 0xC3 0x01, the 8-byte CRC-64-AVRO fingerprint, the binary body. */
const MAGIC = Buffer.from([0xc3, 0x01]);
const HEADER_BYTES = MAGIC.length + 8;
/** Confluent's wire format (with a schema registry): 0x00, the schema id (int32 big-endian), the binary body. */
const REGISTRY_MAGIC = 0x00;
const REGISTRY_HEADER_BYTES = 5;

export interface SchemaVersion {
  /** Full record name, e.g. io.callstream.callaro.CallaroEvent. */
  name: string;
  version: number;
  file: string;
  type: avro.Type;
  /** Hex of the CRC-64-AVRO fingerprint (little-endian bytes). */
  fingerprint: string;
  /** The schema as written in its file (compact JSON): what a schema registry is given. */
  json: string;
}

/** Where each record schema is registered: subject (`<topic>-value`) and record name. */
export interface RegistrySubject {
  subject: string;
  schemaName: string;
}

/** A schema id's writer schema and how to read it (or why it cannot be read). */
type RegistryEntry = { writer: SchemaVersion; reader: SchemaVersion; resolver?: avro.Resolver } | { refused: CallstreamError };

export interface Decoded<T> {
  value: T;
  schema: SchemaVersion;
}

/**
 * Encodes with the newest version of a schema and decodes any known version into the
 * newest one (Avro schema resolution), so consumers read old records after the schema
 * evolved. Schemas come from `schemas/<file>.v<N>.avsc`.
 *
 * Two framings: Avro single-object frames (the default: self-describing by fingerprint, no
 * service needed), or, once useRegistry() ran, Confluent's wire format with ids from a
 * schema registry, so that any Confluent-compatible consumer (Kafka Connect, ksqlDB, a
 * Java or Python deserializer) reads the topics. decode() reads both, whichever is set.
 */
export class AvroCodec {
  private readonly byFingerprint = new Map<string, SchemaVersion>();
  private readonly latest = new Map<string, SchemaVersion>();
  private readonly resolvers = new Map<string, avro.Resolver>();
  private registry?: SchemaRegistryClient;
  /** Record name -> registry id of its newest version (what encode() writes). */
  private readonly idByName = new Map<string, number>();
  /** Registry id -> writer schema, filled by useRegistry() and prefetch(). */
  private readonly byId = new Map<number, RegistryEntry>();

  constructor(versions: SchemaVersion[]) {
    for (const v of versions) {
      this.byFingerprint.set(v.fingerprint, v);
      const current = this.latest.get(v.name);
      if (!current || current.version < v.version) this.latest.set(v.name, v);
    }
  }

  /** Loads every `*.v<N>.avsc` file of a folder. */
  static fromDirectory(dir: string): AvroCodec {
    const versions: SchemaVersion[] = [];
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.avsc')).sort()) {
      const match = /\.v(\d+)\.avsc$/.exec(file);
      if (!match) throw new CallstreamError('CFG_INVALID', `Schema file ${file}: expected a name like <name>.v<N>.avsc`);
      const text = readFileSync(join(dir, file), 'utf8');
      const type = avro.Type.forSchema(JSON.parse(text), { typeHook: safeLongHook });
      versions.push({ name: type.name ?? file, version: Number(match[1]), file, type, fingerprint: fingerprintOf(type), json: JSON.stringify(JSON.parse(text)) });
    }
    return new AvroCodec(versions);
  }

  /** The newest version of a record schema, by full name. */
  schema(name: string): SchemaVersion {
    const v = this.latest.get(name);
    if (!v) throw new CallstreamError('CODEC_UNKNOWN_SCHEMA', `No schema named ${name}; known: ${[...this.latest.keys()].join(', ')}`);
    return v;
  }

  versions(): SchemaVersion[] {
    return [...this.byFingerprint.values()];
  }

  /**
   * Switches encode() to Confluent's wire format: registers the newest version of each
   * record schema under its subjects (or, with autoRegister off, looks up the id that an
   * operator registered) and keeps the ids. Throws CODEC_REGISTRY_REFUSED when the
   * registry refuses a schema (say, incompatible with the subject's latest version).
   */
  async useRegistry(client: SchemaRegistryClient, subjects: readonly RegistrySubject[], { autoRegister = true } = {}): Promise<Map<string, number>> {
    const ids = new Map<string, number>();
    for (const { subject, schemaName } of subjects) {
      const schema = this.schema(schemaName);
      const id = autoRegister ? await client.register(subject, schema.json) : await client.lookup(subject, schema.json);
      ids.set(subject, id);
      // Registries give one id to one schema text whatever the subject; keep the first.
      if (!this.idByName.has(schemaName)) this.idByName.set(schemaName, id);
      this.byId.set(id, { writer: schema, reader: schema });
    }
    this.registry = client;
    return ids;
  }

  /**
   * Fetches the writer schemas of the registry-framed records among `frames` that this
   * codec has not seen, so that decode() (synchronous) can read them. An id the registry
   * does not know, or whose schema cannot be read as the newest local version, is kept as
   * a refusal (decode throws CODEC_UNKNOWN_SCHEMA: a dead letter). Throws
   * CODEC_REGISTRY_UNAVAILABLE when the registry does not answer, and CODEC_REGISTRY_REFUSED
   * when it refuses the request itself (credentials): both are for the caller to retry.
   */
  async prefetch(frames: Iterable<Buffer | null | undefined>): Promise<void> {
    const missing = new Set<number>();
    for (const frame of frames) {
      if (frame && frame.length >= REGISTRY_HEADER_BYTES && frame[0] === REGISTRY_MAGIC) {
        const id = frame.readUInt32BE(1);
        if (!this.byId.has(id)) missing.add(id);
      }
    }
    if (missing.size === 0 || !this.registry) return;
    for (const id of missing) {
      let text: string;
      try {
        text = await this.registry.schemaById(id);
      } catch (err) {
        // Only "no such id" is the record's fault; refused credentials must not dead-letter data.
        if (err instanceof CallstreamError && err.code === 'CODEC_REGISTRY_REFUSED' && (err.details as { status?: number } | undefined)?.status === 404) {
          this.byId.set(id, { refused: new CallstreamError('CODEC_UNKNOWN_SCHEMA', `Schema id ${id}: ${err.message}`, { cause: err }) });
          continue;
        }
        throw err;
      }
      this.byId.set(id, this.entryFor(id, text));
    }
  }

  /** Encodes a value with the newest version of the named schema (registry wire format once useRegistry() ran, else a single-object frame). */
  encode(name: string, value: unknown): Buffer {
    const schema = this.schema(name);
    let body: Buffer;
    try {
      body = schema.type.toBuffer(value);
    } catch (cause) {
      throw new CallstreamError('CODEC_ENCODE_FAILED', `Value does not fit ${name} v${schema.version}`, { cause });
    }
    const id = this.idByName.get(name);
    if (id !== undefined) {
      const header = Buffer.allocUnsafe(REGISTRY_HEADER_BYTES);
      header[0] = REGISTRY_MAGIC;
      header.writeUInt32BE(id, 1);
      return Buffer.concat([header, body]);
    }
    return Buffer.concat([MAGIC, Buffer.from(schema.fingerprint, 'hex'), body]);
  }

  /**
   * Decodes a frame into the newest version of the same record: a single-object frame of
   * any known version, or a registry frame whose id this codec knows (see prefetch).
   */
  decode<T = Record<string, unknown>>(frame: Buffer): Decoded<T> {
    if (frame.length >= REGISTRY_HEADER_BYTES && frame[0] === REGISTRY_MAGIC) return this.decodeRegistryFrame<T>(frame);
    if (frame.length < HEADER_BYTES || frame[0] !== MAGIC[0] || frame[1] !== MAGIC[1]) {
      throw new CallstreamError('CODEC_BAD_FRAME');
    }
    const fingerprint = frame.subarray(2, HEADER_BYTES).toString('hex');
    const writer = this.byFingerprint.get(fingerprint);
    if (!writer) throw new CallstreamError('CODEC_UNKNOWN_SCHEMA', `Unknown schema fingerprint ${fingerprint}`);
    const reader = this.schema(writer.name);
    return this.read<T>(frame.subarray(HEADER_BYTES), writer, reader, reader === writer ? undefined : this.resolver(reader, writer));
  }

  private decodeRegistryFrame<T>(frame: Buffer): Decoded<T> {
    const id = frame.readUInt32BE(1);
    const entry = this.byId.get(id);
    if (!entry) {
      const why = this.registry ? 'not fetched from the registry' : 'no schema registry is configured (CALLSTREAM_SCHEMA_REGISTRY_URL)';
      throw new CallstreamError('CODEC_UNKNOWN_SCHEMA', `The record was written with registry schema id ${id}: ${why}`);
    }
    if ('refused' in entry) throw entry.refused;
    return this.read<T>(frame.subarray(REGISTRY_HEADER_BYTES), entry.writer, entry.reader, entry.resolver);
  }

  private read<T>(body: Buffer, writer: SchemaVersion, reader: SchemaVersion, resolver: avro.Resolver | undefined): Decoded<T> {
    try {
      return { value: reader.type.fromBuffer(body, resolver) as T, schema: writer };
    } catch (cause) {
      throw new CallstreamError('SINK_DECODE_FAILED', `Body does not decode as ${writer.name} v${writer.version}`, { cause });
    }
  }

  /** How to read records written with a schema fetched from the registry. */
  private entryFor(id: number, text: string): RegistryEntry {
    let type: avro.Type;
    try {
      type = avro.Type.forSchema(JSON.parse(text), { typeHook: safeLongHook });
    } catch (cause) {
      return { refused: new CallstreamError('CODEC_UNKNOWN_SCHEMA', `Schema id ${id} is not a valid Avro schema`, { cause }) };
    }
    const fingerprint = fingerprintOf(type);
    const known = this.byFingerprint.get(fingerprint);
    const name = type.name ?? '(unnamed)';
    const writer: SchemaVersion = known ?? { name, version: 0, file: `schema registry id ${id}`, type, fingerprint, json: text };
    const reader = this.latest.get(name);
    if (!reader) return { refused: new CallstreamError('CODEC_UNKNOWN_SCHEMA', `Schema id ${id} is a ${name}, which this build does not read`) };
    if (reader.fingerprint === fingerprint) return { writer, reader };
    try {
      return { writer, reader, resolver: reader.type.createResolver(type) };
    } catch (cause) {
      return { refused: new CallstreamError('CODEC_UNKNOWN_SCHEMA', `Schema id ${id} (${name}) cannot be read as ${name} v${reader.version}`, { cause }) };
    }
  }

  private resolver(reader: SchemaVersion, writer: SchemaVersion): avro.Resolver {
    const key = `${reader.fingerprint}<-${writer.fingerprint}`;
    let resolver = this.resolvers.get(key);
    if (!resolver) {
      resolver = reader.type.createResolver(writer.type);
      this.resolvers.set(key, resolver);
    }
    return resolver;
  }
}

/** The fingerprint of a type's Parsing Canonical Form. */
export function fingerprintOf(type: avro.Type): string {
  return crc64Avro(Buffer.from(JSON.stringify(type.schema()))).toString('hex');
}

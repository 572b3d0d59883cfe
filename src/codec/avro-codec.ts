import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import avro from 'avsc';
import { CallstreamError } from '../errors.js';
import { crc64Avro } from './fingerprint.js';
import { safeLongHook } from './safe-long.js';

/** Avro single-object encoding: 0xC3 0x01, the 8-byte CRC-64-AVRO fingerprint, the binary body. */
const MAGIC = Buffer.from([0xc3, 0x01]);
const HEADER_BYTES = MAGIC.length + 8;

export interface SchemaVersion {
  /** Full record name, e.g. io.callstream.callaro.CallaroEvent. */
  name: string;
  version: number;
  file: string;
  type: avro.Type;
  /** Hex of the CRC-64-AVRO fingerprint (little-endian bytes). */
  fingerprint: string;
}

export interface Decoded<T> {
  value: T;
  schema: SchemaVersion;
}

/**
 * Encodes with the newest version of a schema and decodes any known version into the
 * newest one (Avro schema resolution), so consumers read old records after the schema
 * evolved. Schemas come from `schemas/<file>.v<N>.avsc`.
 */
export class AvroCodec {
  private readonly byFingerprint = new Map<string, SchemaVersion>();
  private readonly latest = new Map<string, SchemaVersion>();
  private readonly resolvers = new Map<string, avro.Resolver>();

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
      const type = avro.Type.forSchema(JSON.parse(readFileSync(join(dir, file), 'utf8')), { typeHook: safeLongHook });
      versions.push({ name: type.name ?? file, version: Number(match[1]), file, type, fingerprint: fingerprintOf(type) });
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

  /** Encodes a value with the newest version of the named schema, as a single-object frame. */
  encode(name: string, value: unknown): Buffer {
    const schema = this.schema(name);
    let body: Buffer;
    try {
      body = schema.type.toBuffer(value);
    } catch (cause) {
      throw new CallstreamError('CODEC_ENCODE_FAILED', `Value does not fit ${name} v${schema.version}`, { cause });
    }
    return Buffer.concat([MAGIC, Buffer.from(schema.fingerprint, 'hex'), body]);
  }

  /** Decodes a frame written with any known version into the newest version of the same record. */
  decode<T = Record<string, unknown>>(frame: Buffer): Decoded<T> {
    if (frame.length < HEADER_BYTES || frame[0] !== MAGIC[0] || frame[1] !== MAGIC[1]) {
      throw new CallstreamError('CODEC_BAD_FRAME');
    }
    const fingerprint = frame.subarray(2, HEADER_BYTES).toString('hex');
    const writer = this.byFingerprint.get(fingerprint);
    if (!writer) throw new CallstreamError('CODEC_UNKNOWN_SCHEMA', `Unknown schema fingerprint ${fingerprint}`);
    const reader = this.schema(writer.name);
    const body = frame.subarray(HEADER_BYTES);
    try {
      if (reader === writer) return { value: reader.type.fromBuffer(body) as T, schema: writer };
      return { value: reader.type.fromBuffer(body, this.resolver(reader, writer)) as T, schema: writer };
    } catch (cause) {
      throw new CallstreamError('SINK_DECODE_FAILED', `Body does not decode as ${writer.name} v${writer.version}`, { cause });
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

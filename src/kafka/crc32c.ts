import Module, { createRequire } from 'node:module';
import { crc32c } from '@node-rs/crc32';

/**
 * kafkajs computes the CRC-32C of every record batch it produces byte by byte in JavaScript,
 * one of the receiver's main costs in the profile (about 6.5 KB of records per webhook).
 * @node-rs/crc32 computes the same checksum natively (SSE4.2 / ARMv8 CRC instructions; prebuilt
 * binaries on npm). kafkajs has no option for it, so its checksum module is put in Node's
 * require cache before kafkajs loads: each module of src/ that loads kafkajs imports this one
 * first. test/unit/kafka/crc32c.test.ts compares both on random batches and fails if a kafkajs
 * upgrade moves the module.
 */

/** The module kafkajs's record batch encoder requires for its checksum (kafkajs 2.x). */
export const KAFKAJS_CRC32C_MODULE = 'kafkajs/src/protocol/recordBatch/crc32C/index.js';

const require = createRequire(import.meta.url);

/** The checksum kafkajs's encoder calls: the unsigned CRC-32C of a buffer. */
export function fastCrc32c(buffer: Buffer): number {
  return crc32c(buffer) >>> 0;
}

/**
 * installed: kafkajs will use fastCrc32c; already-loaded: kafkajs was loaded before this module
 * (its encoder keeps the JavaScript checksum: still correct, only slower); missing: kafkajs no
 * longer has the module (an upgrade moved it); disabled: CALLSTREAM_JS_CRC32C=1 (the bench's
 * before-and-after in one run).
 */
export type Crc32cState = 'installed' | 'already-loaded' | 'missing' | 'disabled';

function install(): Crc32cState {
  let path: string;
  try {
    path = require.resolve(KAFKAJS_CRC32C_MODULE);
  } catch {
    return 'missing';
  }
  const cached = require.cache[path];
  if (cached) return cached.exports === fastCrc32c ? 'installed' : 'already-loaded';
  const module = new Module(path);
  module.filename = path;
  module.loaded = true;
  module.exports = fastCrc32c;
  require.cache[path] = module;
  return 'installed';
}

/**
 * What happened when this module loaded (before kafkajs, in callstream's own processes). It
 * reads CALLSTREAM_JS_CRC32C itself (src/config/options.ts documents it): it must act before
 * any configuration is loaded.
 */
const jsWanted = /^(1|true|yes|on)$/i.test(process.env.CALLSTREAM_JS_CRC32C ?? '');
export const CRC32C_STATE: Crc32cState = jsWanted ? 'disabled' : install();

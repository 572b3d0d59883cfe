import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { fastCrc32c, KAFKAJS_CRC32C_MODULE } from '../../../src/kafka/crc32c.js';
import { ensureBuilt } from '../../support/processes.js';

const require = createRequire(import.meta.url);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

describe('the native CRC-32C put in kafkajs (src/kafka/crc32c.ts)', () => {
  it('equals kafkajs\'s own JavaScript checksum on random record batches of every size', () => {
    // kafkajs's implementation, read from its source file, not from the require cache this module fills.
    const jsCrc32c = require(require.resolve(KAFKAJS_CRC32C_MODULE).replace(/index\.js$/, 'crc32C.js')) as (b: Buffer) => number;
    const unsigned = (n: number) => n >>> 0;
    for (const size of [0, 1, 7, 8, 9, 63, 64, 65, 1000, 4096, 65_537, 1_048_576]) {
      const batch = randomBytes(size);
      expect(fastCrc32c(batch), `${size} bytes`).toBe(unsigned(jsCrc32c(batch)));
    }
    // RFC 3720's check value of CRC-32C ("123456789" -> 0xE3069283).
    expect(fastCrc32c(Buffer.from('123456789'))).toBe(0xe3069283);
  });

  it('is what kafkajs\'s record batch encoder calls in a callstream process (fails if a kafkajs upgrade moves the module)', { timeout: 120_000 }, () => {
    // A fresh process running the built code, as in production: callstream's Kafka modules load first, then kafkajs.
    ensureBuilt();
    const script = `
      await import(${JSON.stringify(`${ROOT}dist/kafka/index.js`)});
      const { CRC32C_STATE, fastCrc32c, KAFKAJS_CRC32C_MODULE } = await import(${JSON.stringify(`${ROOT}dist/kafka/crc32c.js`)});
      const { createRequire } = await import('node:module');
      const require = createRequire(${JSON.stringify(`${ROOT}package.json`)});
      const used = require(KAFKAJS_CRC32C_MODULE) === fastCrc32c;
      // The encoder itself: a batch's CRC field (bytes 17..20) holds the checksum of what follows it.
      const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js');
      const Record = require('kafkajs/src/protocol/recordBatch/record/v0/index.js');
      const batch = await RecordBatch({ records: [Record({ key: 'k', value: 'v'.repeat(3000), offsetDelta: 0 })], firstTimestamp: 1 });
      const bytes = batch.buffer;
      const crc = bytes.readUInt32BE(17);
      console.log(JSON.stringify({ state: CRC32C_STATE, used, crcMatches: crc === fastCrc32c(bytes.subarray(21)) }));
    `;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' });
    expect(JSON.parse(out.trim().split('\n').pop()!)).toEqual({ state: 'installed', used: true, crcMatches: true });
  });
});

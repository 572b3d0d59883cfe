#!/usr/bin/env node
// The same-moment baseline of bench/load/history.js, in a process of its own so that its memory
// is not counted in the RSS of the warehouse under test: an empty warehouse (made anew on
// "fresh", so it stays empty) that writes one probe flush on "probe" (three untimed after each "fresh") and answers how long it took.
// Its failures are its own (emptyErrors): a run once stopped at 4 million rows because this
// baseline, kept for the whole run in 32 MB, failed a checkpoint.
// Started by history.js (child_process.fork) with the folder to work in; talks by IPC messages.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDbWarehouse } from '../../dist/warehouse/duckdb/duckdb-warehouse.js';
import { CALL_EVENTS, REQUESTS } from '../../dist/warehouse/tables.js';
import { deliveryRows, writeFlush } from '../lib/history-rows.js';

const { dir, writePath, rows } = JSON.parse(process.argv[2]);
let empty;
let seq = 0;
let delivery = 0;

/** One probe flush into the baseline: its time in ms. */
async function probe() {
  const { events, audit } = deliveryRows('history-empty', delivery, rows);
  delivery += rows;
  return (await writeFlush(empty, { events, audit })).ms;
}

async function fresh() {
  if (empty) {
    await empty.close().catch(() => undefined);
    const old = join(dir, `empty-${seq}.duckdb`);
    for (const f of [old, `${old}.wal`, `${old}.tmp`]) rmSync(f, { force: true, recursive: true });
  }
  seq++;
  empty = await DuckDbWarehouse.open(join(dir, `empty-${seq}.duckdb`), { writePath, memoryLimit: '64MB' });
  await empty.ensureTables([CALL_EVENTS, REQUESTS]);
  // Not timed: the first writes of a new file (and of this process's compiled code) are slower,
  // which would flatter the full warehouse's ratio.
  for (let k = 0; k < 3; k++) await probe();
}

process.on('message', async ({ cmd }) => {
  try {
    if (cmd === 'fresh') {
      await fresh();
      process.send({ ok: true });
    } else if (cmd === 'probe') {
      process.send({ ok: true, ms: await probe() });
    } else if (cmd === 'close') {
      await empty?.close();
      process.send({ ok: true });
      process.disconnect();
    }
  } catch (err) {
    process.send({ ok: false, error: err.message });
  }
});
process.send({ ready: true });

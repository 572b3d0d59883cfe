// The sink rows' baseline: a raw kafkajs consumer with the sink's consumer settings that
// only decodes each record's Avro frame, and commits its offsets per batch like the sink,
// so the difference to the sink is the work of writing to the warehouse. Prints
// {"msg":"joined","time":...} when it joined its group, and at the end one JSON report.
//
// Usage: node bench/load/raw-consumer.js '{"topic":..., "group":..., "expected":200000, "partitions":6}'
import { readFileSync } from 'node:fs';
import { AvroCodec, schemasDir } from '../../dist/codec/index.js';
import { benchKafka } from '../lib/kafka.js';

const opts = JSON.parse(process.argv[2]);
const codec = AvroCodec.fromDirectory(schemasDir());
const consumer = benchKafka('callstream-bench-raw').consumer({
  groupId: opts.group,
  sessionTimeout: 30_000,
  heartbeatInterval: 3_000,
  maxBytesPerPartition: 2 * 1024 * 1024,
  maxBytes: 16 * 1024 * 1024,
  maxWaitTimeInMs: 250,
  allowAutoTopicCreation: false,
});
let joinedAt;
let count = 0;
let decodedBytes = 0;
let done;
const finished = new Promise((resolve) => (done = resolve));
consumer.on(consumer.events.GROUP_JOIN, () => {
  joinedAt ??= Date.now();
  console.log(JSON.stringify({ msg: 'joined', time: joinedAt }));
});
await consumer.connect();
await consumer.subscribe({ topics: [opts.topic], fromBeginning: true });
await consumer.run({
  autoCommit: false,
  eachBatchAutoResolve: false,
  partitionsConsumedConcurrently: opts.partitions ?? 6,
  eachBatch: async ({ batch, resolveOffset }) => {
    if (batch.messages.length === 0) return;
    for (const m of batch.messages) {
      const { value } = codec.decode(m.value);
      decodedBytes += value.payload.length;
    }
    const last = batch.lastOffset();
    resolveOffset(last);
    await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(last) + 1n).toString() }]);
    count += batch.messages.length;
    if (count >= opts.expected) done(Date.now());
  },
});
const endedAt = await finished;
const hwm = Number(/^VmHWM:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))[1]) / 1024;
await consumer.disconnect();
const seconds = (endedAt - joinedAt) / 1000;
console.log(JSON.stringify({ report: { count, seconds, perSec: count / seconds, peakRssMb: hwm, joinedAt, endedAt, decodedBytes } }));
process.exit(0);

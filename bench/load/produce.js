// Fills a topic with CallaroEvent records as the receiver writes them (Avro single-object
// frames of bench/lib/payload.js events, keyed by call_id with the Java-compatible
// partitioner), either as fast as the broker takes them (a backlog for the sink rows) or
// at a fixed rate for a while (a live stream). Prints one JSON report.
//
// Usage: node bench/load/produce.js '{"topic":..., "run":..., "from":0, "count":200000}'
//        node bench/load/produce.js '{"topic":..., "run":..., "from":0, "rate":2500, "seconds":20}'
import { Partitioners } from 'kafkajs';
import { AvroCodec, SCHEMA_NAMES, schemasDir } from '../../dist/codec/index.js';
import { benchKafka } from '../lib/kafka.js';
import { eventRecordAt } from '../lib/payload.js';

const opts = JSON.parse(process.argv[2]);
const codec = AvroCodec.fromDirectory(schemasDir());
const producer = benchKafka('callstream-bench-producer').producer({
  createPartitioner: Partitioners.DefaultPartitioner,
  allowAutoTopicCreation: false,
  // A backlog filler, not the system under test: plain acks=1 batches, several in flight.
  idempotent: false,
});
await producer.connect();

function message(i, now) {
  const record = eventRecordAt(opts.run, i, now);
  return { key: record.entity_id, value: codec.encode(SCHEMA_NAMES.callaroEvent, record), headers: { 'callstream-request-id': record.request_id, 'callstream-family': 'call' } };
}

const started = Date.now();
let bytes = 0;
let sent = 0;
if (opts.rate) {
  // Paced: every 10 ms, send what the rate owes by now.
  const total = Math.round(opts.rate * opts.seconds);
  while (sent < total) {
    const due = Math.min(total, Math.floor(((Date.now() - started) / 1000) * opts.rate));
    if (due > sent) {
      const messages = [];
      const now = Date.now();
      for (; sent < due; sent++) {
        const m = message(opts.from + sent, now);
        bytes += m.value.length;
        messages.push(m);
      }
      for (let k = 0; k < messages.length; k += 500) await producer.send({ topic: opts.topic, acks: 1, messages: messages.slice(k, k + 500) });
    }
    await new Promise((r) => setTimeout(r, 10));
  }
} else {
  // Backlog: batches of 600 records, about 400 KB per partition on average, so that even an
  // unlucky key spread stays under the broker's 1 MB batch limit (1,200 did not, now and then);
  // four requests in flight.
  const BATCH = 600;
  const inFlight = new Set();
  const now = Date.now();
  for (let from = 0; from < opts.count; from += BATCH) {
    const messages = [];
    for (let i = from; i < Math.min(opts.count, from + BATCH); i++) {
      const m = message(opts.from + i, now + Math.floor(i / 1000));
      bytes += m.value.length;
      messages.push(m);
    }
    sent += messages.length;
    const p = producer.send({ topic: opts.topic, acks: 1, messages }).finally(() => inFlight.delete(p));
    inFlight.add(p);
    if (inFlight.size >= 4) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
}
await producer.disconnect();
const seconds = (Date.now() - started) / 1000;
console.log(JSON.stringify({ report: { sent, bytes, seconds, perSec: sent / seconds, meanRecordBytes: bytes / Math.max(1, sent) } }));

import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { AvroCodec, SCHEMA_NAMES, schemasDir } from '../../src/codec/index.js';
import { loadConfig, NO_TELEPHONY_VENDORS, type OptionKey, type TelephonyVendors } from '../../src/config/index.js';
import { CallstreamError } from '../../src/errors.js';
import { recordBytes, type OutgoingMessage, type Publisher } from '../../src/kafka/index.js';
import { createLogger } from '../../src/logger.js';
import { Metrics } from '../../src/metrics/index.js';
import { AccessPolicy, ReceiptClock, Receiver } from '../../src/receiver/index.js';

/** A publisher that keeps what it is given (or fails / hangs on demand): for receiver unit tests. */
export class MemoryPublisher {
  messages: OutgoingMessage[] = [];
  mode: 'ack' | 'fail' | 'hang' = 'ack';
  /** Per topic, the largest record the publisher says fits (Publisher.recordLimit); others unlimited. */
  recordLimits = new Map<string, number>();
  /** Per topic, the largest record the "broker" takes: beyond it publish fails with KAFKA_RECORD_TOO_LARGE (a limit lowered after start). */
  brokerLimits = new Map<string, number>();
  publish(messages: OutgoingMessage[]): Promise<void> {
    if (this.mode === 'fail') return Promise.reject(new Error('broker down'));
    if (this.mode === 'hang') return new Promise(() => undefined);
    if (messages.some((m) => !this.fits(m) || recordBytes(m) > (this.brokerLimits.get(m.topic) ?? Infinity))) {
      return Promise.reject(new CallstreamError('KAFKA_RECORD_TOO_LARGE'));
    }
    this.messages.push(...messages);
    return Promise.resolve();
  }
  recordLimit(topic: string): number {
    return this.recordLimits.get(topic) ?? Infinity;
  }
  fits(message: OutgoingMessage): boolean {
    return recordBytes(message) <= this.recordLimit(message.topic);
  }
  async flush(): Promise<void> {}
}

export const codec = AvroCodec.fromDirectory(schemasDir());

/** Starts a Receiver on a free port with an in-memory publisher (and the given telephony vendors). */
export async function startTestReceiver(overrides: Partial<Record<OptionKey, unknown>> = {}, telephonyVendors: TelephonyVendors = NO_TELEPHONY_VENDORS) {
  const config = loadConfig({}, { port: 0, publishTimeoutMs: 300, ...overrides });
  const publisher = new MemoryPublisher();
  const metrics = new Metrics({ defaultMetrics: false });
  let producerReady = true;
  // Warnings and errors the receiver logs, as parsed JSON lines (what an operator would read).
  const logLines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) logLines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const ctx = { config, telephonyVendors, codec, publisher: publisher as unknown as Publisher, logger: createLogger({ level: 'warn', destination }), metrics, access: new AccessPolicy(config), clock: new ReceiptClock() };
  const receiver = new Receiver({
    ctx,
    readiness: () => ({ ready: producerReady, components: { producer: producerReady } }),
  });
  const address: AddressInfo = await receiver.listen();
  const url = `http://127.0.0.1:${address.port}`;
  const decodeAll = (topic: string) =>
    publisher.messages.filter((m) => m.topic === topic).map((m) => codec.decode<Record<string, unknown>>(m.value).value);
  return {
    config,
    /** The route context the receiver was given (a test may break a part of it). */
    ctx,
    /** The warn and error lines logged so far. */
    logLines,
    metrics,
    receiver,
    publisher,
    url,
    audit: () => decodeAll(config.topicRaw),
    events: () => decodeAll(config.topicEvents),
    callbacks: () => decodeAll(config.topicTelephony),
    callbackAudit: () => decodeAll(config.topicTelephonyRaw),
    /** Makes /readyz report the producer (dis)connected. */
    setProducerReady: (ready: boolean) => {
      producerReady = ready;
    },
    close: () => receiver.close(1000),
  };
}

export { SCHEMA_NAMES };

import type { KafkaMessage } from 'kafkajs';
import { describeError, isCallstreamError } from '../errors.js';
import { recordBytes, type OutgoingMessage, type Publisher } from '../kafka/index.js';
import type { Logger } from '../logger.js';
import { backoffDelay, sleep } from './backoff.js';
import type { SinkStream } from './streams.js';

/** Headers callstream sets (the record's place, why, its request): a dead letter keeps them whatever else it drops. */
const OWN_HEADER_PREFIX = 'callstream-';
/** In a dead letter cut to its place, each kept header value and the key are cut to this many characters. */
const POINTER_VALUE_CHARS = 256;

/**
 * The dead letter of a record the sink cannot store, for its stream's dead-letter topic: the
 * record's key, bytes and headers, plus why (code, reason) and where it came from. When the
 * topic is smaller than that (created outside callstream), it is shrunk (shrinkDeadLetter)
 * until it fits.
 */
export function deadLetterFor(publisher: Publisher, topic: string, stream: SinkStream, message: KafkaMessage, partition: number, reason: string, code: string): OutgoingMessage {
  let letter: OutgoingMessage = {
    topic,
    key: message.key?.toString() ?? '',
    value: message.value ?? Buffer.alloc(0),
    headers: {
      ...message.headers,
      'callstream-error-code': code,
      'callstream-error': reason.slice(0, 2000),
      'callstream-source-topic': stream.topic,
      'callstream-source-partition': String(partition),
      'callstream-source-offset': message.offset,
      // The version of the dead_letters row: the same record dead-lettered again (a replay) keeps its row.
      'callstream-source-timestamp': message.timestamp,
    },
  };
  while (!publisher.fits(letter)) {
    const smaller = shrinkDeadLetter(letter);
    // Even the record's place does not fit: publishDeadLetters retries it until the topic takes it.
    if (!smaller) break;
    letter = smaller;
  }
  return letter;
}

/**
 * The next smaller form of a dead letter the topic refuses as too large, or undefined when
 * nothing is left to drop: first without the record's bytes (`callstream-value-omitted`:
 * their length), then cut to the record's place (no headers but callstream's own, the names
 * of the dropped ones in `callstream-headers-omitted`, every value and the key cut short).
 * Either way it still says where the record is: its source topic, partition and offset,
 * where it can be read for as long as that topic keeps it.
 */
export function shrinkDeadLetter(letter: OutgoingMessage): OutgoingMessage | undefined {
  const headers = letter.headers ?? {};
  if (letter.value.length > 0) {
    return { ...letter, value: Buffer.alloc(0), headers: { ...headers, 'callstream-value-omitted': String(letter.value.length) } };
  }
  const own = Object.entries(headers).filter(([name]) => name.startsWith(OWN_HEADER_PREFIX));
  const dropped = Object.keys(headers).filter((name) => !name.startsWith(OWN_HEADER_PREFIX));
  const pointer: OutgoingMessage = {
    ...letter,
    key: letter.key.slice(0, POINTER_VALUE_CHARS),
    headers: Object.fromEntries([
      ...own.map(([name, value]) => [name, String(value ?? '').slice(0, POINTER_VALUE_CHARS)]),
      ...(dropped.length > 0 ? [['callstream-headers-omitted', dropped.join(',').slice(0, POINTER_VALUE_CHARS)]] : []),
    ]),
  };
  return recordBytes(pointer) < recordBytes(letter) ? pointer : undefined;
}

export interface DeadLetterDelivery {
  logger: Logger;
  /** Aborted when the sink stops: retrying ends and the batch stays uncommitted. */
  signal: AbortSignal;
}

/**
 * Publishes a batch's dead letters and resolves true once the broker stored all of them;
 * false only when `signal` aborted first. A dead letter the topic refuses as too large is
 * shrunk (shrinkDeadLetter) and sent again; any other failure (the broker down, the
 * publisher's queue full of waiting webhooks, the topic missing) and a dead letter that
 * cannot shrink further are retried with capped backoff for as long as it takes. The sink
 * meanwhile commits nothing past the batch, so no record is lost, and the process (with
 * its receiver) stays up.
 */
export async function publishDeadLetters(publisher: Publisher, letters: OutgoingMessage[], delivery: DeadLetterDelivery): Promise<boolean> {
  let pending = letters;
  for (let attempt = 0; !delivery.signal.aborted; attempt++) {
    try {
      await publisher.publish(pending);
      return true;
    } catch (err) {
      if (isCallstreamError(err, 'KAFKA_RECORD_TOO_LARGE')) {
        // Which letter the broker refused is unknown: each goes alone, shrinking only the one at fault.
        if (pending.length > 1) return publishEach(publisher, pending, delivery);
        const smaller = shrinkDeadLetter(pending[0]);
        if (smaller) {
          const source = (name: string) => String(smaller.headers?.[`callstream-source-${name}`] ?? '');
          delivery.logger.warn(
            { topic: smaller.topic, source: `${source('topic')}[${source('partition')}]@${source('offset')}`, bytes: recordBytes(smaller) },
            'the dead-letter topic refused a dead letter as too large; sending a smaller one that points to the record',
          );
          pending = [smaller];
          continue;
        }
      }
      const delay = backoffDelay(attempt);
      delivery.logger.warn({ error: describeError(err), topic: pending[0].topic, letters: pending.length, attempt, retryInMs: delay }, 'publishing dead letters failed; retrying, and committing nothing past them meanwhile');
      await sleep(delay, delivery.signal);
    }
  }
  return false;
}

async function publishEach(publisher: Publisher, letters: OutgoingMessage[], delivery: DeadLetterDelivery): Promise<boolean> {
  for (const letter of letters) if (!(await publishDeadLetters(publisher, [letter], delivery))) return false;
  return true;
}

import type { KafkaMessage } from 'kafkajs';
import type { OutgoingMessage, Publisher } from '../kafka/index.js';
import type { SinkStream } from './streams.js';

/**
 * The dead letter of a record the sink cannot store, for its stream's dead-letter topic: the
 * record's key, bytes and headers, plus why (code, reason) and where it came from.
 */
export function deadLetterFor(publisher: Publisher, topic: string, stream: SinkStream, message: KafkaMessage, partition: number, reason: string, code: string): OutgoingMessage {
  const letter: OutgoingMessage = {
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
  if (publisher.fits(letter)) return letter;
  // A dead-letter topic smaller than the record (created outside callstream): a dead letter that
  // cannot be written would stop the sink, so it carries the record's place instead of its bytes.
  return { ...letter, value: Buffer.alloc(0), headers: { ...letter.headers, 'callstream-value-omitted': String(letter.value.length) } };
}

// Before kafkajs: its record batch checksum, computed natively (see crc32c.ts).
import './crc32c.js';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { Kafka, logLevel as KafkaLogLevel, type ISocketFactory, type KafkaConfig, type LogEntry, type SASLOptions } from 'kafkajs';
import type { Config } from '../config/index.js';
import { CallstreamError } from '../errors.js';
import type { Logger } from '../logger.js';

export const LOCAL_BROKER = '127.0.0.1:9092';

/** Builds the kafkajs client from the config: brokers, TLS, SASL, and pino for its logs. */
export function createKafka(config: Config, logger: Logger, clientIdSuffix = ''): Kafka {
  const kafkaConfig: KafkaConfig = {
    clientId: config.kafkaClientId + clientIdSuffix,
    brokers: config.kafkaBrokers ?? [LOCAL_BROKER],
    connectionTimeout: 3_000,
    requestTimeout: 30_000,
    retry: { initialRetryTime: 100, maxRetryTime: 5_000, retries: 8 },
    logLevel: KafkaLogLevel.WARN,
    logCreator: () => (entry: LogEntry) => logKafka(logger, entry),
    socketFactory: noDelaySocketFactory,
  };
  if (config.kafkaSsl) {
    kafkaConfig.ssl = config.kafkaSslCaFile ? { ca: [readFileSync(config.kafkaSslCaFile, 'utf8')] } : true;
  }
  if (config.kafkaSaslMechanism) {
    kafkaConfig.sasl = {
      mechanism: config.kafkaSaslMechanism,
      username: config.kafkaSaslUsername!,
      password: config.kafkaSaslPassword!,
    } as SASLOptions;
  }
  return new Kafka(kafkaConfig);
}

/**
 * kafkajs's own socket factory, plus TCP_NODELAY: kafkajs leaves Nagle's algorithm on, so a
 * small produce request written while the previous segment is unacknowledged waits for the
 * broker's (delayed) ACK. The broker sets TCP_NODELAY on its side; so does the Java client.
 */
const noDelaySocketFactory: ISocketFactory = ({ host, port, ssl, onConnect }) => {
  const socket = ssl
    ? tls.connect(Object.assign({ host, port }, net.isIP(host) ? {} : { servername: host }, ssl), onConnect)
    : net.connect({ host, port }, onConnect);
  socket.setKeepAlive(true, 60_000);
  socket.setNoDelay(true);
  return socket;
};

/**
 * Connects a kafkajs client (admin, producer or consumer) and turns its failure into a
 * stable code that says what to fix: credentials (KAFKA_AUTH_FAILED), TLS trust or a
 * TLS/plaintext mismatch (KAFKA_TLS_FAILED), anything else (KAFKA_UNAVAILABLE).
 */
export async function connectKafkaClient(client: { connect(): Promise<void> }, config: Config): Promise<void> {
  try {
    await client.connect();
  } catch (cause) {
    const brokers = (config.kafkaBrokers ?? [LOCAL_BROKER]).join(',');
    const chain = causeChain(cause);
    if (chain.some((e) => e.name === 'KafkaJSSASLAuthenticationError')) {
      throw new CallstreamError('KAFKA_AUTH_FAILED', `SASL ${config.kafkaSaslMechanism} as "${config.kafkaSaslUsername}" refused by ${brokers}`, { cause });
    }
    const tls = chain.find((e) => /certificate|self[- ]signed|ssl|tls|handshake|EPROTO/i.test(`${e.message} ${(e as { code?: string }).code ?? ''}`));
    if (config.kafkaSsl && tls) {
      throw new CallstreamError('KAFKA_TLS_FAILED', `TLS with ${brokers} failed: ${tls.message}`, { cause });
    }
    throw new CallstreamError('KAFKA_UNAVAILABLE', `Could not connect to ${brokers}`, { cause });
  }
}

function causeChain(err: unknown): Error[] {
  const chain: Error[] = [];
  for (let e = err; e instanceof Error && chain.length < 8; e = (e as { originalError?: unknown }).originalError ?? e.cause) chain.push(e);
  return chain;
}

function logKafka(logger: Logger, { level, log }: LogEntry): void {
  const { message, timestamp: _t, logger: _l, ...extra } = log;
  const fields = { component: 'kafkajs', ...extra };
  if (level === KafkaLogLevel.ERROR) logger.error(fields, message);
  else if (level === KafkaLogLevel.WARN) logger.warn(fields, message);
  else if (level === KafkaLogLevel.INFO) logger.info(fields, message);
  else logger.debug(fields, message);
}

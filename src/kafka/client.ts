import { readFileSync } from 'node:fs';
import { Kafka, logLevel as KafkaLogLevel, type KafkaConfig, type LogEntry, type SASLOptions } from 'kafkajs';
import type { Config } from '../config/index.js';
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

function logKafka(logger: Logger, { level, log }: LogEntry): void {
  const { message, timestamp: _t, logger: _l, ...extra } = log;
  const fields = { component: 'kafkajs', ...extra };
  if (level === KafkaLogLevel.ERROR) logger.error(fields, message);
  else if (level === KafkaLogLevel.WARN) logger.warn(fields, message);
  else if (level === KafkaLogLevel.INFO) logger.info(fields, message);
  else logger.debug(fields, message);
}

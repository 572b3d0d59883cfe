import type { Command } from 'commander';
import type { OptionKey } from '../../config/options.js';
import { connectorOption, example, subcommand, type Done } from '../define.js';
import { environmentHelp } from '../env-help.js';

/** The variables start and sink help name first; docs/configuration.md has every one. */
const RUN_ENV: OptionKey[] = ['kafkaBrokers', 'host', 'port', 'warehouse', 'dataDir', 'connectorFile', 'schemaRegistryUrl', 'logLevel'];

/** `start`, `receiver` and `sink`: the pipeline, whole or one part; the work is in commands/run.ts. */
export function defineRun(program: Command, done: Done): void {
  const run = (parts: { receiver?: boolean; sink?: boolean }) => async (options: { connector?: string }) =>
    done(await (await import('../commands/run.js')).run(options, parts));
  subcommand(program, 'start', 'Run the whole pipeline until Ctrl-C or SIGTERM: a local Kafka broker (unless KAFKA_BROKERS is set), the receiver and the sink.')
    .addOption(connectorOption())
    .addHelpText('after', environmentHelp([...RUN_ENV, 'authTokens', 'hmacSecrets']) + example('KAFKA_BROKERS=broker-1:9092 callstream start --connector connectors/bigquery-sink.json'))
    .action(run({}));
  subcommand(program, 'receiver', 'Run only the HTTP receiver: it validates webhooks and publishes them to Kafka.')
    .addOption(connectorOption())
    .addHelpText('after', environmentHelp(['kafkaBrokers', 'host', 'port', 'topicEvents', 'connectorFile', 'authTokens', 'hmacSecrets', 'maxBodyBytes', 'schemaRegistryUrl', 'logLevel']) + example('KAFKA_BROKERS=broker-1:9092 PORT=8080 callstream receiver'))
    .action(run({ sink: false }));
  subcommand(program, 'sink', 'Run only the sink: Kafka -> the warehouse; health and metrics on HOST:PORT.')
    .addOption(connectorOption())
    .addHelpText('after', environmentHelp([...RUN_ENV, 'consumerGroup', 'topicEvents', 'flushMaxRecords', 'flushIntervalMs', 'sinkBufferBytes']) + example('KAFKA_BROKERS=broker-1:9092 callstream sink --connector connectors/bigquery-sink.json'))
    .action(run({ receiver: false }));

}

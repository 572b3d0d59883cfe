import { CallstreamError, describeError } from '../errors.js';

const USAGE = `Usage: callstream <command> [options]

Commands:
  start [--connector F]   Run the whole pipeline: local broker (unless KAFKA_BROKERS is set), receiver, sink.
  receiver              Run only the HTTP receiver (publishes to Kafka).
  sink [--connector F]  Run only the sink connector (Kafka -> warehouse), e.g. --connector connectors/bigquery-sink.json.
  replay (--to-earliest | --from <ISO time> | --offsets <p>:<o>,...) [--topic T] [--group G] [--dry-run] [--yes]
                        Rewind the sink's consumer group to reprocess records (the sink must be stopped).
  replay-raw [--from <ISO>] [--to <ISO>] [--codes C1,C2] [--dry-run] [--yes]
                        Re-validate requests the receiver refused for their content (kept in the audit
                        topic) and re-publish the ones valid now.
  query "<SQL>" [--json]  Run a read-only query on the embedded warehouse (through the running pipeline if there is one).
  help                  Show this text.

Configuration comes from environment variables; see the README's configuration table.`;

/** Entry point of bin/callstream.js; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      // Each command loads only what it uses (a receiver never loads DuckDB or BigQuery).
      case 'start':
        return await (await import('./commands/run.js')).run(rest, {});
      case 'receiver':
        return await (await import('./commands/run.js')).run(rest, { sink: false });
      case 'sink':
        return await (await import('./commands/run.js')).run(rest, { receiver: false });
      case 'query':
        return await (await import('./commands/query.js')).query(rest);
      case 'replay':
        return await (await import('./commands/replay.js')).replay(rest);
      case 'replay-raw':
        return await (await import('./commands/replay-raw.js')).replayRawCommand(rest);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        console.log(USAGE);
        return command === undefined ? 2 : 0;
      default:
        console.error(`Unknown command "${command}".\n\n${USAGE}`);
        return 2;
    }
  } catch (err) {
    if (err instanceof CallstreamError) {
      console.error(`callstream: ${err.code}: ${describeError(err).replace(`${err.code}: `, '')}`);
      return 1;
    }
    throw err;
  }
}

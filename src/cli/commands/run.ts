import { describeError } from '../../errors.js';
import { createLogger } from '../../logger.js';
import { Pipeline } from '../../pipeline/index.js';
import { startTracing, type Tracing } from '../../tracing/index.js';
import { configure } from './configure.js';

/** `callstream start|receiver|sink`: runs the pipeline (or one side of it) until a signal. */
export async function run(options: { connector?: string }, parts: { receiver?: boolean; sink?: boolean }): Promise<number> {
  const { config, bigquery } = configure(options);
  const logger = createLogger({ level: config.logLevel });
  // Off unless OTEL_TRACES_EXPORTER says otherwise (then the SDK is loaded): docs/tracing.md.
  let tracing: Tracing | undefined;
  try {
    tracing = await startTracing(config, logger);
  } catch (err) {
    logger.fatal({ err, error: describeError(err) }, 'tracing could not start');
    return 1;
  }
  const stopTracing = () => tracing?.shutdown().catch((err) => logger.warn({ err }, 'the last spans could not be exported'));
  const pipeline = new Pipeline({ config, logger, bigquery, ...parts });
  let signals = 0;
  const shutdown = (signal: string) => {
    signals++;
    if (signals > 1) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(130);
    }
    logger.info({ signal }, 'signal received');
    const force = setTimeout(() => {
      logger.error('graceful shutdown took too long; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    force.unref();
    void pipeline
      .stop()
      .then(stopTracing)
      .then(() => process.exit(0));
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  try {
    await pipeline.start();
  } catch (err) {
    logger.fatal({ err, error: describeError(err) }, 'start failed');
    await pipeline.stop();
    await stopTracing();
    return 1;
  }
  await new Promise(() => undefined); // runs until a signal arrives
  return 0;
}

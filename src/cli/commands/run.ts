import { describeError } from '../../errors.js';
import { createLogger } from '../../logger.js';
import { Pipeline } from '../../pipeline/index.js';
import { configure } from './configure.js';

/** `callstream start|receiver|sink`: runs the pipeline (or one side of it) until a signal. */
export async function run(options: { connector?: string }, parts: { receiver?: boolean; sink?: boolean }): Promise<number> {
  const { config, bigquery } = configure(options);
  const logger = createLogger({ level: config.logLevel });
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
    void pipeline.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  try {
    await pipeline.start();
  } catch (err) {
    logger.fatal({ err, error: describeError(err) }, 'start failed');
    await pipeline.stop();
    return 1;
  }
  await new Promise(() => undefined); // runs until a signal arrives
  return 0;
}

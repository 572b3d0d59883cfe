import type { Config } from '../../config/index.js';
import { CallstreamError } from '../../errors.js';
import { createLogger } from '../../logger.js';
import { collectStatus, formatStatus, judge } from '../../status/index.js';
import { STATUS_DEFAULTS, type StatusCommandOptions } from '../../status/command-options.js';
import { configure } from './configure.js';

/**
 * `callstream status`: one look at every part, a report (tables, or --json) on stdout, and the
 * verdict as the exit code: 0 healthy, 1 unhealthy (options checked by src/cli/definitions/status.ts).
 */
export async function status(options: StatusCommandOptions): Promise<number> {
  const { config } = configure({ connector: options.connector });
  // kafkajs's complaints about a broker that is down would only repeat what the report says; on stderr with LOG_LEVEL=debug.
  const logger = createLogger({ level: /^(debug|trace)$/.test(config.logLevel) ? config.logLevel : 'silent', destination: process.stderr });
  const facts = await collectStatus({
    config,
    logger,
    url: options.url ?? defaultUrl(config),
    group: options.group ?? config.consumerGroup,
    windowSeconds: options.window ?? STATUS_DEFAULTS.windowSeconds,
    timeoutMs: (options.timeout ?? STATUS_DEFAULTS.timeoutSeconds) * 1000,
  });
  const report = judge(facts, {
    maxLag: options.maxLag ?? STATUS_DEFAULTS.maxLag,
    maxDeadLetters: options.maxDeadLetters ?? STATUS_DEFAULTS.maxDeadLetters,
    maxIdleSeconds: options.maxIdle ?? STATUS_DEFAULTS.maxIdleSeconds,
  });
  console.log(options.json ? JSON.stringify(report, null, 2) : formatStatus(report));
  return report.healthy ? 0 : 1;
}

/** http://HOST:PORT, the address the process listens on; a wildcard address is asked on loopback. */
function defaultUrl(config: Config): string {
  if (config.port === 0) throw new CallstreamError('CFG_INVALID', 'PORT=0 lets the process pick a free port: give its address with --url, e.g. --url http://127.0.0.1:8080');
  const host = config.host === '0.0.0.0' || config.host === '' ? '127.0.0.1' : config.host === '::' ? '::1' : config.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${config.port}`;
}

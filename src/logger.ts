import { pino, type Logger } from 'pino';

export type { Logger };

/** Paths pino replaces with "[redacted]": credentials never reach a log line. */
export const REDACT_PATHS = [
  'password',
  '*.password',
  '*.*.password',
  'sasl.password',
  'secret',
  '*.secret',
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'headers.cookie',
  'headers["x-callaro-signature"]',
  'headers["x-twilio-signature"]',
  'headers["webhook-signature"]',
  'credentials',
  '*.credentials',
  'private_key',
  '*.private_key',
  'piiHashKey',
  '*.piiHashKey',
];

/**
 * Creates the process logger: pino JSON on stdout (or the given destination). The level comes
 * from the caller (the CLI passes config.logLevel, i.e. LOG_LEVEL as the options checked it):
 * the environment is read in one place, src/config/.
 */
export function createLogger(options: { level: string; name?: string; destination?: NodeJS.WritableStream }): Logger {
  const settings = {
    name: options.name ?? 'callstream',
    level: options.level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { pid: process.pid },
  };
  return options.destination ? pino(settings, options.destination as never) : pino(settings);
}

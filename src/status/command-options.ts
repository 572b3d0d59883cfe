/** Defaults of `callstream status`, shown in its --help (src/cli/definitions/status.ts) and used by src/cli/commands/status.ts. */
export const STATUS_DEFAULTS = { windowSeconds: 5, maxLag: 10_000, maxDeadLetters: 1_000, maxIdleSeconds: 300, timeoutSeconds: 10 };

export interface StatusCommandOptions {
  url?: string;
  group?: string;
  connector?: string;
  window?: number;
  maxLag?: number;
  maxDeadLetters?: number;
  maxIdle?: number;
  timeout?: number;
  json?: boolean;
}

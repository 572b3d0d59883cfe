import { loadConfig, loadConnector, type BigQuerySettings, type Config } from '../../config/index.js';
import { OPTIONS } from '../../config/options.js';

/**
 * Config from the environment, overridden by a connector file (--connector or
 * CALLSTREAM_CONNECTOR): the environment is read and checked once, with the file's overrides.
 */
export function configure(options: { connector?: string }): { config: Config; bigquery?: BigQuerySettings } {
  const file = options.connector ?? connectorFromEnv();
  if (!file) return { config: loadConfig() };
  const { connector, overrides } = loadConnector(file);
  return { config: loadConfig(process.env, { ...overrides, connectorFile: file }), bigquery: connector.bigquery };
}

/** CALLSTREAM_CONNECTOR alone (the rest of the environment is checked by loadConfig, once). */
function connectorFromEnv(): string | undefined {
  const parsed = OPTIONS.connectorFile.schema.safeParse(process.env[OPTIONS.connectorFile.env]);
  return parsed.success ? (parsed.data as string | undefined) : undefined;
}

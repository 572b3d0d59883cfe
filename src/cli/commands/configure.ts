import { loadConfig, loadConnector, type BigQuerySettings, type Config } from '../../config/index.js';

/** Config from the environment, overridden by a connector file (--connector or CALLSTREAM_CONNECTOR). */
export function configure(options: { connector?: string }): { config: Config; bigquery?: BigQuerySettings } {
  const file = options.connector ?? loadConfig().connectorFile;
  if (!file) return { config: loadConfig() };
  const { connector, overrides } = loadConnector(file);
  return { config: loadConfig(process.env, { ...overrides, connectorFile: file }), bigquery: connector.bigquery };
}

export { OPTIONS, type Config, type OptionKey, type OptionSpec } from './options.js';
export { loadConfig } from './load.js';
export { configTableMarkdown } from './markdown-table.js';
export { loadConnector, parseBigQuerySettings, type ConnectorConfig, type BigQuerySettings } from './connector.js';

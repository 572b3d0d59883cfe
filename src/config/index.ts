export { OPTIONS, type Config, type OptionKey, type OptionSpec } from './options.js';
export { loadConfig } from './load.js';
export { duckDbPath } from './paths.js';
export { FLOWS, flowTopic, flowTopics, type Flow, type FlowTopic, type FlowTopicRole } from './flows.js';
export { configTableMarkdown } from './markdown-table.js';
export { loadConnector, parseBigQuerySettings, type ConnectorConfig, type BigQuerySettings } from './connector.js';
export {
  loadTelephonyVendors,
  parseTelephonyVendors,
  NO_TELEPHONY_VENDORS,
  type TelephonyVendor,
  type TelephonyVendors,
  type TelephonyScheme,
  type CallbackFieldNames,
} from './telephony-vendors.js';

import { z } from 'zod';
import { CallstreamError } from '../errors.js';
import { OPTIONS, type Config, type OptionKey } from './options.js';

/** Environment variables with this prefix must be known options: a typo is an error, not a silent default. */
const OWN_PREFIX = 'CALLSTREAM_';
/** Variables of scripts/kafka.sh, scripts/bq-emulator.sh, scripts/dbt.sh and the test setup (CALLSTREAM_TEST_SERVICES), which share the prefix. */
const SCRIPT_VARIABLES = /^CALLSTREAM_(KAFKA|BQEMU|TEST|DBT)_/;

/**
 * Parses the configuration once, at start-up: environment first, then explicit
 * overrides (from a connector file or a test). Returns a frozen object.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Record<OptionKey, unknown>> = {}): Config {
  const known = new Set(Object.values(OPTIONS).map((o) => o.env));
  const unknown = Object.keys(env).filter((k) => k.startsWith(OWN_PREFIX) && !known.has(k) && !SCRIPT_VARIABLES.test(k));
  if (unknown.length > 0) {
    throw new CallstreamError('CFG_INVALID', `Unknown setting ${unknown.join(', ')}; known CALLSTREAM_ settings: ${[...known].filter((k) => k.startsWith(OWN_PREFIX)).join(', ')}`);
  }
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, spec] of Object.entries(OPTIONS)) {
    const raw = key in overrides ? overrides[key as OptionKey] : emptyToUndefined(env[spec.env]);
    const parsed = (spec.schema as z.ZodType).safeParse(raw);
    if (parsed.success) out[key] = parsed.data;
    else problems.push(`${spec.env}=${JSON.stringify(raw)}: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
  }
  for (const key of Object.keys(overrides)) {
    if (!(key in OPTIONS)) problems.push(`unknown option "${key}"`);
  }
  if (problems.length > 0) throw new CallstreamError('CFG_INVALID', `Invalid configuration: ${problems.join(' | ')}`);
  const config = out as Config;
  if (config.kafkaSaslMechanism && (!config.kafkaSaslUsername || !config.kafkaSaslPassword)) {
    throw new CallstreamError('CFG_INVALID', 'KAFKA_SASL_MECHANISM is set: expected KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD too');
  }
  if (config.schemaRegistryUsername !== undefined && config.schemaRegistryPassword === undefined) {
    throw new CallstreamError('CFG_INVALID', 'CALLSTREAM_SCHEMA_REGISTRY_USERNAME is set: expected CALLSTREAM_SCHEMA_REGISTRY_PASSWORD too');
  }
  if ((config.schemaRegistryUsername !== undefined || !config.schemaRegistryAutoRegister) && !config.schemaRegistryUrl) {
    throw new CallstreamError('CFG_INVALID', 'Schema registry settings are set but CALLSTREAM_SCHEMA_REGISTRY_URL is not');
  }
  checkPiiSettings(config);
  return Object.freeze(config);
}

/** Shortest CALLSTREAM_PII_HASH_KEY: 32 characters (128 bits as hex at the least; 256 recommended). */
export const MIN_PII_KEY_CHARS = 32;

/** A JSON path of CALLSTREAM_PII_HASH_PATHS / _DROP_PATHS: a JSON column, then one or more keys (or *). */
const PII_PATH = /^(extracted_data|runtime_vars|tool_calls|fields)(\.[^.\s]+)+$/;

/** Hash mode needs a key long enough to resist guessing; messages never quote the key. */
function checkPiiSettings(config: Config): void {
  if (config.piiMode === 'hash' && config.piiHashKey === undefined) {
    throw new CallstreamError('CFG_INVALID', 'CALLSTREAM_PII_MODE=hash: expected CALLSTREAM_PII_HASH_KEY (at least 32 characters, e.g. `openssl rand -hex 32`)');
  }
  if (config.piiHashKey !== undefined && config.piiHashKey.length < MIN_PII_KEY_CHARS) {
    throw new CallstreamError('CFG_INVALID', `CALLSTREAM_PII_HASH_KEY is ${config.piiHashKey.length} characters long: expected at least ${MIN_PII_KEY_CHARS}`);
  }
  if (config.piiHashPaths && config.piiMode !== 'hash') {
    throw new CallstreamError('CFG_INVALID', 'CALLSTREAM_PII_HASH_PATHS is set but CALLSTREAM_PII_MODE is not hash');
  }
  for (const [env, paths] of [['CALLSTREAM_PII_HASH_PATHS', config.piiHashPaths], ['CALLSTREAM_PII_DROP_PATHS', config.piiDropPaths]] as const) {
    const bad = (paths ?? []).filter((p) => !PII_PATH.test(p));
    if (bad.length > 0) throw new CallstreamError('CFG_INVALID', `${env}: ${bad.join(', ')}: expected column.key[.key...], column one of extracted_data, runtime_vars, tool_calls, fields`);
  }
}

function emptyToUndefined(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}

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
  return Object.freeze(config);
}

function emptyToUndefined(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}

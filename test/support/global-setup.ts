import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { isPortOpen } from '../../src/kafka/index.js';

/**
 * `npm test` on its own starts what the tests need and is not running yet, and stops what it
 * started: the Kafka broker (scripts/kafka.sh), the BigQuery emulator, the schema registry,
 * and installs (cached) the Python tools (Confluent's client, schemathesis, dbt). A service already
 * up (started by hand with its script, or KAFKA_BROKERS pointing elsewhere) is used and left
 * running. CALLSTREAM_TEST_SERVICES=none starts nothing (`npm run test:unit` sets it); a test
 * that needs a missing service then fails, never skips.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface Service {
  name: string;
  script: string;
  up: () => Promise<boolean>;
}

const SERVICES: Service[] = [
  { name: 'Kafka broker', script: 'scripts/kafka.sh', up: () => (process.env.KAFKA_BROKERS ? Promise.resolve(true) : isPortOpen('127.0.0.1', 9092, 1000)) },
  { name: 'BigQuery emulator', script: 'scripts/bq-emulator.sh', up: () => answers(`http://127.0.0.1:${process.env.BQ_EMULATOR_PORT ?? 9050}/healthz`) },
  { name: 'schema registry', script: 'scripts/schema-registry.sh', up: () => answers(`${process.env.SCHEMA_REGISTRY_URL ?? `http://127.0.0.1:${process.env.SCHEMA_REGISTRY_PORT ?? 8081}/apis/ccompat/v7`}/subjects`) },
];

/** Cached installs: quick when done before. */
const TOOLS = ['scripts/confluent-client.sh', 'scripts/schemathesis.sh', 'scripts/promtool.sh', 'scripts/dbt.sh', 'scripts/faketime.sh'];

async function answers(url: string): Promise<boolean> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(2000) })).ok;
  } catch {
    return false;
  }
}

function script(path: string, command: string): void {
  execFileSync('bash', [path, command], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'], timeout: 20 * 60_000 });
}

export default async function setup(): Promise<() => void> {
  const started: Service[] = [];
  if (process.env.CALLSTREAM_TEST_SERVICES === 'none') return () => undefined;
  for (const service of SERVICES) {
    if (await service.up()) continue;
    console.log(`[test services] starting the ${service.name} (${service.script} start)`);
    script(service.script, 'start');
    started.push(service);
  }
  for (const tool of TOOLS) script(tool, 'install');
  return () => {
    for (const service of started.reverse()) {
      console.log(`[test services] stopping the ${service.name} it started`);
      try {
        script(service.script, 'stop');
      } catch (err) {
        console.error(`[test services] ${service.script} stop failed: ${(err as Error).message}`);
      }
    }
  };
}

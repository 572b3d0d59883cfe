import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** The Confluent-compatible API of the registry scripts/schema-registry.sh starts (Apicurio). */
export const SCHEMA_REGISTRY_URL = process.env.SCHEMA_REGISTRY_URL ?? `http://127.0.0.1:${process.env.SCHEMA_REGISTRY_PORT ?? 8081}/apis/ccompat/v7`;

/** Fails (never skips) when the registry does not answer: .ci/run starts it; locally run `scripts/schema-registry.sh start`. */
export async function requireRegistry(): Promise<void> {
  try {
    const res = await fetch(`${SCHEMA_REGISTRY_URL}/subjects`, { signal: AbortSignal.timeout(2000) });
    if (res.ok) return;
  } catch {
    // reported below
  }
  throw new Error(`No schema registry at ${SCHEMA_REGISTRY_URL}: start it with \`scripts/schema-registry.sh start\` (.ci/run does this in CI).`);
}

/**
 * Reads `count` records of a topic with Confluent's own Python client (confluent-kafka's
 * AvroDeserializer, writer schema from the registry): what any Confluent consumer sees.
 * Needs `scripts/confluent-client.sh install` (.ci/run does it).
 */
export async function readWithConfluentClient(bootstrap: string, topic: string, count: number): Promise<Array<{ partition: number; offset: number; key: string | null; schema_id: number; value: Record<string, unknown> }>> {
  const run = promisify(execFile);
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const python = (await run('bash', [`${root}scripts/confluent-client.sh`, 'python'], { cwd: root })).stdout.trim();
  const args = [`${root}test/support/confluent_consume.py`, '--bootstrap', bootstrap, '--registry', SCHEMA_REGISTRY_URL, '--topic', topic, '--count', String(count), '--timeout-s', '60'];
  const { stdout } = await run(python, args, { cwd: root, maxBuffer: 64 * 1024 * 1024 });
  return stdout.trim().split('\n').map((line) => JSON.parse(line));
}

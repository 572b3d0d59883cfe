import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/index.js';
import { isPortOpen } from '../../src/kafka/index.js';
import { callCompleted } from '../support/fixtures.js';
import { isolatedConfig, startTestPipeline, waitFor } from '../support/pipeline-harness.js';

// The local broker's SASL_SSL listener (scripts/kafka.sh): TLS with a CA of its own, and
// SASL PLAIN / SCRAM-SHA-256 / SCRAM-SHA-512 for a test user. The whole pipeline runs over
// it, as it would against a platform team's cluster.
const DATA_DIR = process.env.CALLSTREAM_KAFKA_DATA ?? fileURLToPath(new URL('../../.kafka-data', import.meta.url));
const SECURE = {
  broker: `127.0.0.1:${process.env.KAFKA_SASL_SSL_PORT ?? Number(process.env.KAFKA_PORT ?? 9092) + 2}`,
  caFile: join(DATA_DIR, 'tls/ca.pem'),
  username: 'callstream',
  password: 'callstream-secret',
};

/** Fails (never skips) when the listener is not there: scripts/kafka.sh start opens it. */
async function requireSecureListener(): Promise<void> {
  const [host, port] = SECURE.broker.split(':');
  if (!(await isPortOpen(host, Number(port), 2000))) {
    throw new Error(`No SASL_SSL listener at ${SECURE.broker}: start the broker with \`scripts/kafka.sh start\` (.ci/run does this in CI).`);
  }
}

function secureConfig(overrides: Record<string, unknown> = {}): Config {
  return isolatedConfig({
    kafkaBrokers: [SECURE.broker],
    kafkaSsl: true,
    kafkaSslCaFile: SECURE.caFile,
    kafkaSaslMechanism: 'scram-sha-512',
    kafkaSaslUsername: SECURE.username,
    kafkaSaslPassword: SECURE.password,
    ...overrides,
  });
}

describe('Kafka over TLS with SASL (the broker\'s SASL_SSL listener)', () => {
  for (const mechanism of ['plain', 'scram-sha-256', 'scram-sha-512'] as const) {
    it(`runs the pipeline with SASL ${mechanism}: topics created, event published, consumed and stored`, async () => {
      await requireSecureListener();
      const { pipeline, url } = await startTestPipeline({ config: secureConfig({ kafkaSaslMechanism: mechanism }) });
      try {
        const res = await fetch(`${url}/callaro/webhooks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(callCompleted(7)) });
        expect(res.status).toBe(202);
        const rows = await waitFor(() => pipeline.warehouse!.query(`SELECT call_id FROM call_events`), (r) => r.length === 1, 30_000, 'the row');
        expect(rows).toEqual([{ call_id: (callCompleted(7) as { call_id: string }).call_id }]);
      } finally {
        await pipeline.stop();
      }
    });
  }

  it('refuses a wrong password at start with KAFKA_AUTH_FAILED', async () => {
    await requireSecureListener();
    await expect(startTestPipeline({ config: secureConfig({ kafkaSaslPassword: 'not-the-password' }) })).rejects.toMatchObject({
      code: 'KAFKA_AUTH_FAILED',
      message: expect.stringContaining('scram-sha-512 as "callstream"'),
    });
  });

  it('refuses a broker certificate it cannot trust with KAFKA_TLS_FAILED', async () => {
    await requireSecureListener();
    // System CAs only: the local CA is not among them.
    await expect(startTestPipeline({ config: secureConfig({ kafkaSslCaFile: undefined }) })).rejects.toMatchObject({
      code: 'KAFKA_TLS_FAILED',
      message: expect.stringMatching(/certificate/i),
    });
  }, 60_000);

  it('says KAFKA_TLS_FAILED, not just "unavailable", when TLS meets a plaintext listener', async () => {
    await requireSecureListener();
    const plaintext = isolatedConfig().kafkaBrokers!;
    await expect(startTestPipeline({ config: secureConfig({ kafkaBrokers: plaintext, kafkaSaslMechanism: undefined, kafkaSaslUsername: undefined, kafkaSaslPassword: undefined }) })).rejects.toMatchObject({
      code: 'KAFKA_TLS_FAILED',
    });
  }, 60_000);
});

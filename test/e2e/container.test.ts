import { execFile } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/index.js';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { BQ_EMULATOR, emulatorWarehouse, requireEmulator } from '../support/bigquery-emulator.js';
import { bigQueryDialect } from '../support/dialects.js';
import { callCompleted } from '../support/fixtures.js';
import { groupProgress, isolatedConfig, requireBroker, TEST_BROKERS, waitFor } from '../support/pipeline-harness.js';
import { freePort, topicEnv } from '../support/processes.js';
import { post } from './scenario.js';

/**
 * The container image (Containerfile) run for real: a receiver container and a DuckDB sink
 * container (podman, host network) against the test broker. scripts/image.sh builds the image
 * unless it was built from this very checkout (and installs podman and the local bases first on a
 * fresh machine). When podman cannot build or run it, this file fails: it never skips.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const IMAGE = process.env.CALLSTREAM_IMAGE ?? 'localhost/callstream:dev';
const UID = 65532; // the Containerfile's USER (distroless "nonroot")
const run = promisify(execFile);

/** `scripts/image.sh podman ...`: podman with the flags this machine needs. */
async function podman(...args: string[]): Promise<string> {
  const { stdout } = await run('bash', ['scripts/image.sh', 'podman', ...args], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024, timeout: 120_000 });
  return stdout.trim();
}

const config: Config = isolatedConfig();
const suffix = config.consumerGroup.replace(/^test-/, '');
const names = { receiver: `callstream-test-${suffix}-receiver`, sink: `callstream-test-${suffix}-sink`, bigquery: `callstream-test-${suffix}-bigquery` };
const dataDir = mkdtempSync(join(tmpdir(), 'callstream-container-'));
let sentCall: Record<string, unknown> | undefined;
let ports: { receiver: number; sink: number; bigquery: number };
let imageBytes = 0;

/** What both containers get: the test's own topics and group, on the test broker. */
function envArgs(extra: Record<string, string>): string[] {
  const env: Record<string, string> = {
    KAFKA_BROKERS: TEST_BROKERS.join(','),
    HOST: '127.0.0.1',
    ...topicEnv(config),
    CALLSTREAM_CONSUMER_GROUP: config.consumerGroup,
    CALLSTREAM_SESSION_TIMEOUT_MS: String(config.sessionTimeoutMs),
    LOG_LEVEL: 'info',
    ...extra,
  };
  return Object.entries(env).flatMap(([k, v]) => ['--env', `${k}=${v}`]);
}

async function startContainer(name: string, port: number, command: string, extraArgs: string[], env: Record<string, string>): Promise<void> {
  await podman('run', '-d', '--name', name, ...extraArgs, ...envArgs({ PORT: String(port), ...env }), IMAGE, command);
  await waitFor(
    async () => {
      const state = await podman('inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', name);
      if (!state.startsWith('running')) throw new Error(`container ${name} is ${state}:\n${await podman('logs', name).catch(() => '')}`);
      return fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status, () => 0);
    },
    (status) => status === 200,
    90_000,
    `${name} to be ready`,
  );
}

async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

/** SIGTERM (podman stop), then the exit code and the JSON log lines. */
async function stopContainer(name: string): Promise<{ exitCode: number; seconds: number; lines: Array<Record<string, unknown>> }> {
  const t0 = Date.now();
  await podman('stop', '--time', '40', name); // SIGTERM, SIGKILL only after 40 s
  const exitCode = Number(await podman('inspect', '--format', '{{.State.ExitCode}}', name));
  const { stdout, stderr } = await run('bash', ['scripts/image.sh', 'podman', 'logs', name], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 });
  const lines = `${stdout}\n${stderr}`
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { exitCode, seconds: (Date.now() - t0) / 1000, lines };
}

beforeAll(async () => {
  await requireBroker();
  // Builds (about a minute), or says the image is up to date; fails the file when podman cannot.
  const t0 = Date.now();
  const built = await run('bash', ['scripts/image.sh', 'ensure'], { cwd: ROOT, timeout: 15 * 60_000, maxBuffer: 64 * 1024 * 1024 }).catch((err: Error & { stderr?: string }) => {
    throw new Error(`scripts/image.sh ensure failed: podman cannot build the image here (${process.env.CI ? 'CI is set: this fails, never skips' : 'a test that needs a missing tool fails'})\n${err.stderr ?? err.message}`);
  });
  console.log(`[container] ${built.stderr.trim().split('\n').at(-1)} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  imageBytes = Number(await podman('image', 'inspect', '--format', '{{.Size}}', IMAGE));
  console.log(`[container] image ${IMAGE}: ${imageBytes} bytes (${(imageBytes / 1e6).toFixed(1)} MB)`);
  // The warehouse volume: a host folder the container's non-root user owns.
  chownSync(dataDir, UID, UID);
  ports = { receiver: await freePort(), sink: await freePort(), bigquery: await freePort() };
}, 16 * 60_000);

afterAll(async () => {
  for (const name of Object.values(names)) await podman('rm', '--force', '--time', '0', name).catch(() => undefined);
}, 120_000);

describe('the container image, run with podman against the test broker', () => {
  it('is under 250 MB and labelled', async () => {
    expect(imageBytes).toBeGreaterThan(50e6);
    expect(imageBytes).toBeLessThan(250e6);
    const labels = JSON.parse(await podman('image', 'inspect', '--format', '{{json .Labels}}', IMAGE)) as Record<string, string>;
    expect(labels['org.opencontainers.image.title']).toBe('callstream');
    expect(labels['org.opencontainers.image.version']).toBe(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
    expect(await podman('run', '--rm', IMAGE, '--version')).toBe(labels['org.opencontainers.image.version']);
  }, 120_000);

  it('answers a webhook 202; SIGTERM makes the sink write and commit what it holds, exit 0, as non-root', async () => {
    // The sink writes only on SIGTERM: a flush interval far beyond the test, so the record is
    // still buffered (read, not written, offset not committed) when the signal arrives.
    await startContainer(names.sink, ports.sink, 'sink', ['--volume', `${dataDir}:/data`], { CALLSTREAM_FLUSH_INTERVAL_MS: '600000' });
    await startContainer(names.receiver, ports.receiver, 'receiver', [], {});

    // Runs as the image's non-root user: the container's PID 1, seen from the host, is node.
    for (const name of [names.receiver, names.sink]) {
      const pid = await podman('inspect', '--format', '{{.State.Pid}}', name);
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      expect(status.match(/^Uid:\s+(\d+)\s+(\d+)/m)?.slice(1)).toEqual([String(UID), String(UID)]);
      expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0]).toBe('/usr/local/bin/node');
      expect(await podman('top', name, 'user')).toMatch(/^nonroot$/m); // podman top: the name in the container's /etc/passwd
    }

    const body = callCompleted(1, { call_id: `vs_container_${suffix}` });
    const sent = await post(`http://127.0.0.1:${ports.receiver}`, body);
    expect(sent.status).toBe(202);
    sentCall = body;

    await waitFor(() => metric(ports.sink, 'callstream_sink_records_consumed_total'), (n) => n >= 1, 30_000, 'the sink to read the record');
    expect(await metric(ports.sink, 'callstream_sink_batches_total')).toBe(0); // held, not written
    expect((await groupProgress(config.consumerGroup, config.topicEvents)).committed).toBe(0);

    const sink = await stopContainer(names.sink);
    console.log(`[container] sink stopped by SIGTERM in ${sink.seconds.toFixed(1)} s, exit ${sink.exitCode}`);
    expect(sink.exitCode).toBe(0);
    const messages = sink.lines.map((l) => l.msg);
    expect(sink.lines.find((l) => l.msg === 'signal received')?.signal).toBe('SIGTERM');
    expect(messages).toContain('shutting down');
    expect(messages.at(-1)).toBe('stopped');
    expect(sink.lines.filter((l) => Number(l.level) >= 50)).toEqual([]); // no error or fatal line

    // Committed inside the container, on the way out.
    const progress = await groupProgress(config.consumerGroup, config.topicEvents);
    expect(progress.end).toBe(1);
    expect(progress.committed).toBe(progress.end);

    // Written to the DuckDB file on the volume (the sink has let go of it).
    const warehouse = await DuckDbWarehouse.open(join(dataDir, 'callstream.duckdb'));
    try {
      const rows = await warehouse.query(`SELECT call_id, CAST(voice_session_id AS VARCHAR) AS vsid FROM call_events WHERE call_id = '${body.call_id as string}'`);
      expect(rows).toEqual([{ call_id: body.call_id, vsid: String(body.voice_session_id) }]);
    } finally {
      await warehouse.close();
    }

    const receiver = await stopContainer(names.receiver);
    console.log(`[container] receiver stopped by SIGTERM in ${receiver.seconds.toFixed(1)} s, exit ${receiver.exitCode}`);
    expect(receiver.exitCode).toBe(0);
    expect(receiver.lines.map((l) => l.msg)).toEqual(expect.arrayContaining(['signal received', 'shutting down', 'stopped']));
  }, 300_000);
  it('a BigQuery sink container (the Google client libraries in the image) writes the same record to the emulator', async () => {
    expect(sentCall, 'the webhook of the test before').toBeDefined();
    await requireEmulator();
    // Its own group and dataset, in a connector file mounted read-only, as the Kubernetes overlay does.
    const dataset = `test_container_${suffix}`;
    const warehouse = emulatorWarehouse({ dataset });
    const cfg = mkdtempSync(join(tmpdir(), 'callstream-container-bq-'));
    writeFileSync(join(cfg, 'connector.json'), JSON.stringify({
      name: 'container-test-bigquery',
      warehouse: 'bigquery',
      consumerGroup: `${config.consumerGroup}-bq`,
      flush: { maxRecords: 5000, intervalMs: 200 },
      bigquery: { projectId: BQ_EMULATOR.project, dataset, location: 'US', credentials: 'none', apiEndpoint: BQ_EMULATOR.endpoint },
    }));
    chmodSync(cfg, 0o755);
    chmodSync(join(cfg, 'connector.json'), 0o644);
    await startContainer(names.bigquery, ports.bigquery, 'sink', ['--volume', `${cfg}:/etc/callstream:ro`], { CALLSTREAM_CONNECTOR: '/etc/callstream/connector.json' });
    await waitFor(() => metric(ports.bigquery, 'callstream_sink_rows_upserted_total'), (n) => n >= 1, 60_000, 'the BigQuery sink to write');
    const stopped = await stopContainer(names.bigquery);
    expect(stopped.exitCode).toBe(0);
    expect(stopped.lines.filter((l) => Number(l.level) >= 50)).toEqual([]);
    const rows = await warehouse.query(`SELECT call_id FROM ${bigQueryDialect.table(warehouse, 'call_events')}`);
    expect(rows).toEqual([{ call_id: sentCall!.call_id }]);
  }, 180_000);
});

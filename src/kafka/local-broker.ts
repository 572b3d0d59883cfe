import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { CallstreamError } from '../errors.js';
import type { Logger } from '../logger.js';

const SCRIPT = fileURLToPath(new URL('../../scripts/kafka.sh', import.meta.url));

/** True when something accepts TCP connections on host:port. */
export function isPortOpen(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

function runScript(command: 'start' | 'stop', logger: Logger): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [SCRIPT, command], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      for (const line of chunk.toString().split('\n').filter(Boolean)) logger.info({ component: 'kafka.sh' }, line);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', (cause) => reject(new CallstreamError('INFRA_BROKER_START_FAILED', `Could not run ${SCRIPT}`, { cause })));
    child.on('exit', (code) => {
      if (code === 0) resolve();
      else reject(new CallstreamError('INFRA_BROKER_START_FAILED', `scripts/kafka.sh ${command} exited with ${code}: ${output.trim().split('\n').slice(-5).join(' | ')}`));
    });
  });
}

/**
 * Starts the local single-node broker (scripts/kafka.sh) unless one already answers.
 * Returns true when this call started it, so the caller knows to stop it.
 */
export async function startLocalBroker(logger: Logger): Promise<boolean> {
  if (await isPortOpen('127.0.0.1', 9092)) {
    logger.info('a broker already listens on 127.0.0.1:9092; using it');
    return false;
  }
  logger.info('starting the local Kafka broker (first start resolves its jars with mvn; this can take a few minutes)');
  await runScript('start', logger);
  return true;
}

export async function stopLocalBroker(logger: Logger): Promise<void> {
  await runScript('stop', logger);
}

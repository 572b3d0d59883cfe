// Child processes of the benchmark: the callstream receiver and sink under test, the
// load generators and reference programs. Each runs on its own so that its peak RSS
// (VmHWM in /proc/<pid>/status: the kernel's high-water mark of resident memory since
// the process started) belongs to one load alone.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CLI = fileURLToPath(new URL('../../bin/callstream.js', import.meta.url));

/** Peak resident memory of a running process in MB (VmHWM), or NaN when it is gone. */
export function peakRssMb(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/^VmHWM:\s+(\d+)\s+kB/m.exec(status)?.[1]);
    return kb / 1024;
  } catch {
    return NaN;
  }
}

/** CPU time (user + system) a running process has used so far, in seconds (clock ticks of 10 ms). */
export function cpuSeconds(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/** The environment for a callstream child: ours, minus any CALLSTREAM_* of the caller (unknown ones are fatal). */
export function callstreamEnv(settings) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('CALLSTREAM_')) env[k] = v;
  return { ...env, KAFKAJS_NO_PARTITIONER_WARNING: '1', ...settings };
}

/**
 * Spawns a node program whose stdout is JSON lines (pino logs or our own reports). Keeps
 * the lines, lets callers wait for one that matches, and kills the child on stop().
 */
export function spawnJsonLines(args, { env = process.env, name = args[0], cwd = ROOT, nodeArgs = [] } = {}) {
  const child = spawn(process.execPath, [...nodeArgs, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = [];
  const waiters = [];
  let stderr = '';
  let exited;
  const exit = new Promise((resolve) => child.once('exit', (code, signal) => resolve((exited = { code, signal }))));
  let buffer = '';
  child.stdout.on('data', (chunk) => {
    buffer += chunk.toString();
    let nl;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const text = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      let line;
      try {
        line = JSON.parse(text);
      } catch {
        line = { msg: text };
      }
      lines.push(line);
      for (const w of [...waiters]) if (w.match(line)) w.resolve(line);
    }
  });
  child.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk.toString()).slice(-20_000);
  });
  const handle = {
    name,
    child,
    pid: child.pid,
    lines,
    get stderr() {
      return stderr;
    },
    exit,
    /** Resolves with the first line (past or future) that matches; rejects on exit or timeout. */
    waitFor(match, timeoutMs = 60_000, what = 'a log line') {
      const seen = lines.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const w = {
          match,
          resolve: (line) => {
            clearTimeout(timer);
            waiters.splice(waiters.indexOf(w), 1);
            resolve(line);
          },
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`${name}: no ${what} within ${timeoutMs} ms; stderr: ${stderr.slice(-2000)}; last lines: ${JSON.stringify(lines.slice(-5))}`));
        }, timeoutMs);
        waiters.push(w);
        void exit.then(({ code, signal }) => {
          if (!waiters.includes(w)) return;
          clearTimeout(timer);
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`${name} exited (code ${code}, signal ${signal}) before ${what}; stderr: ${stderr.slice(-2000)}; last lines: ${JSON.stringify(lines.slice(-5))}`));
        });
      });
    },
    peakRssMb: () => peakRssMb(child.pid),
    cpuSeconds: () => cpuSeconds(child.pid),
    /** SIGTERM (graceful), SIGKILL after timeoutMs. */
    async stop(timeoutMs = 20_000) {
      if (exited) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const result = await exit;
      clearTimeout(timer);
      return result;
    },
  };
  return handle;
}

/**
 * Starts `callstream receiver` or `callstream sink` with the given settings and waits
 * until it logs that it is ready. Returns the handle plus its HTTP address.
 */
export async function startCallstream(command, settings, timeoutMs = 90_000) {
  // BENCH_CPU_PROFILE_DIR=<dir>: each callstream process writes a V8 CPU profile there (open in Chrome DevTools).
  // BENCH_CALLSTREAM_NODE_ARGS="--max-semi-space-size=64": node options for callstream's processes only
  // (NODE_OPTIONS would reach the reference programs and load generators too).
  const profileDir = process.env.BENCH_CPU_PROFILE_DIR;
  const nodeArgs = [...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), ...(process.env.BENCH_CALLSTREAM_NODE_ARGS ?? '').split(/\s+/).filter(Boolean)];
  // BENCH_CALLSTREAM_ENV='{"CALLSTREAM_GAPS_CHECK_INTERVAL_MS":"0"}': more settings for callstream's processes
  // (the bench passes none of the shell's CALLSTREAM_* on, so that a run measures the defaults).
  const extra = process.env.BENCH_CALLSTREAM_ENV ? JSON.parse(process.env.BENCH_CALLSTREAM_ENV) : {};
  const proc = spawnJsonLines([CLI, command], { env: callstreamEnv({ LOG_LEVEL: 'info', ...settings, ...extra }), name: `callstream ${command}`, nodeArgs });
  try {
    const listening = await proc.waitFor((l) => typeof l.url === 'string' && /listening/.test(l.msg ?? ''), timeoutMs, 'listening line');
    await proc.waitFor((l) => l.msg === 'callstream is ready', timeoutMs, '"callstream is ready"');
    return { ...proc, url: listening.url };
  } catch (err) {
    await proc.stop(5_000);
    throw err;
  }
}

/** Runs a node program that prints one JSON report as its last stdout line; resolves with it. */
export async function runJsonReport(args, { env, name, timeoutMs = 600_000, nodeArgs } = {}) {
  const proc = spawnJsonLines(args, { env, name, nodeArgs });
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), timeoutMs);
  const { code, signal } = await proc.exit;
  clearTimeout(timer);
  const report = [...proc.lines].reverse().find((l) => l && l.report);
  if (code !== 0 || !report) {
    throw new Error(`${name ?? args[0]} failed (code ${code}, signal ${signal}); stderr: ${proc.stderr.slice(-3000)}; last lines: ${JSON.stringify(proc.lines.slice(-5))}`);
  }
  return report.report;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

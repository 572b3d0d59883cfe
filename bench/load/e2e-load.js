// End-to-end delay (its own process): posts webhooks to the receiver at a steady rate
// (open loop: requests go out on schedule whether or not earlier ones were answered), and
// meanwhile asks the sink's warehouse, through the same query socket `callstream query`
// uses, which of the acknowledged calls are queryable yet. The delay of a call is the time
// from its 2xx to the answer of the first query that returned its row (an upper bound;
// the probe runs back to back, so it overstates by at most one probe's duration).
// Redeliveries are sent (every tenth request) but not timed: their row already existed.
//
// The calls are dated from `baseTime` (epoch ms; default the payload's BASE_TIME), a second
// apart: on top of a history, live traffic is newer than what is stored, as in production. The
// probe asks only among rows at least that recent (`event_time >=`), as an analyst asking for
// today's calls would: unbounded, on a table of 10 million rows it is a scan of every call_id,
// hundreds of milliseconds that the delay measured would include (`"boundedProbe":false` asks
// that way all the same; meanProbeMs reports what a probe took).
//
// Usage: node bench/load/e2e-load.js '{"url":..., "socket":..., "rate":1000, "seconds":15,
//        "warmupSec":3, "run":..., "drainSec":30, "baseTime":1795000000000}'
import { Agent, request } from 'node:http';
import { readFileSync } from 'node:fs';
import { queryOverSocket } from '../../dist/query-socket/index.js';
import { BASE_TIME, bodyAt } from '../lib/payload.js';
import { percentile } from '../lib/stats.js';

const opts = { baseTime: BASE_TIME, boundedProbe: true, ...JSON.parse(process.argv[2]) };
const agent = new Agent({ keepAlive: true, maxSockets: 256 });
const target = new URL('/callaro/webhooks', opts.url);

const pending = new Map(); // call id -> time of its 2xx
const delays = [];
const httpLatency = [];
let ok = 0;
let failed = 0;
let sent = 0;

function post(i) {
  const { body, callId, duplicate } = bodyAt(opts.run, i, opts.baseTime);
  const started = performance.now();
  const sentAt = Date.now();
  const req = request(
    { agent, hostname: target.hostname, port: target.port, path: target.pathname, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
    (res) => {
      res.resume();
      res.on('end', () => {
        const now = Date.now();
        const measured = sentAt - startedAt >= opts.warmupSec * 1000;
        if (res.statusCode === 202) {
          ok++;
          if (measured) {
            httpLatency.push(performance.now() - started);
            if (!duplicate) pending.set(callId, now);
          }
        } else failed++;
      });
    },
  );
  req.on('error', () => failed++);
  req.end(body);
}

const startedAt = Date.now();
const total = Math.round(opts.rate * (opts.warmupSec + opts.seconds));
let sending = true;
const sender = (async () => {
  while (sent < total) {
    const due = Math.min(total, Math.floor(((Date.now() - startedAt) / 1000) * opts.rate));
    while (sent < due) post(sent++);
    await new Promise((r) => setTimeout(r, 2));
  }
  sending = false;
})();

// Probe: which pending calls are queryable? Oldest first, at most 1,000 ids per query.
let probes = 0;
let probeMs = 0;
let drainDeadline = Infinity;
for (;;) {
  if (!sending && drainDeadline === Infinity) drainDeadline = Date.now() + opts.drainSec * 1000;
  if (!sending && (pending.size === 0 || Date.now() > drainDeadline)) break;
  if (pending.size === 0) {
    await new Promise((r) => setTimeout(r, 5));
    continue;
  }
  const ids = [];
  for (const id of pending.keys()) {
    ids.push(id);
    if (ids.length >= 1000) break;
  }
  const asked = performance.now();
  const recent = opts.boundedProbe ? `event_time >= epoch_ms(${opts.baseTime}) AND ` : '';
  const rows = await queryOverSocket(opts.socket, `SELECT call_id FROM call_events WHERE ${recent}call_id IN (${ids.map((id) => `'${id}'`).join(',')})`);
  const answered = Date.now();
  probes++;
  probeMs += performance.now() - asked;
  for (const row of rows ?? []) {
    const ackAt = pending.get(row.call_id);
    if (ackAt === undefined) continue;
    delays.push(answered - ackAt);
    pending.delete(row.call_id);
  }
  await new Promise((r) => setTimeout(r, 2));
}
await sender;
const seconds = (Date.now() - startedAt) / 1000;
const hwm = Number(/^VmHWM:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))[1]) / 1024;
delays.sort((a, b) => a - b);
httpLatency.sort((a, b) => a - b);
console.log(
  JSON.stringify({
    report: {
      rate: opts.rate,
      baseTime: new Date(opts.baseTime).toISOString(),
      boundedProbe: opts.boundedProbe,
      sent,
      ok,
      failed,
      sendSeconds: opts.warmupSec + opts.seconds,
      timed: delays.length,
      neverSeen: pending.size,
      delayMs: { p50: percentile(delays, 50), p95: percentile(delays, 95), p99: percentile(delays, 99), max: delays.at(-1) ?? NaN },
      httpMs: { p50: percentile(httpLatency, 50), p99: percentile(httpLatency, 99) },
      probes,
      meanProbeMs: probeMs / Math.max(1, probes),
      seconds,
      loadPeakRssMb: hwm,
    },
  }),
);
agent.destroy();

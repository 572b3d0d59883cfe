// Load generator for the receiver rows (its own process): autocannon posting realistic
// call.completed bodies (bench/lib/payload.js: distinct calls, every tenth a redelivery)
// to POST /callaro/webhooks, either as fast as the server answers (saturation: a fixed
// number of connections, closed loop) or at a fixed offered rate (autocannon's
// overallRate, with its correction for coordinated omission). Prints one JSON report.
//
// Usage: node bench/load/http-load.js '{"url":..., "connections":64, "durationSec":8,
//        "warmupSec":2, "rate":null, "run":"abc"}'
import autocannon from 'autocannon';
import { bodyAt } from '../lib/payload.js';

const opts = JSON.parse(process.argv[2]);
let next = opts.startIndex ?? 0;
const headers = { 'content-type': 'application/json' };

const config = {
  url: opts.url,
  connections: opts.connections,
  duration: opts.durationSec,
  pipelining: 1,
  timeout: 10,
  requests: [
    {
      method: 'POST',
      path: '/callaro/webhooks',
      headers,
      setupRequest: (req) => ({ ...req, body: bodyAt(opts.run, next++).body }),
    },
  ],
};
if (opts.rate) config.overallRate = opts.rate;
if (opts.warmupSec > 0) config.warmup = { connections: opts.connections, duration: opts.warmupSec };

const result = await autocannon(config);
const ok = result['2xx'];
const seconds = result.duration;
console.log(
  JSON.stringify({
    report: {
      offeredRate: opts.rate ?? null,
      connections: opts.connections,
      seconds,
      ok,
      non2xx: result.non2xx,
      errors: result.errors,
      timeouts: result.timeouts,
      okPerSec: ok / seconds,
      latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max, mean: result.latency.average },
      requestsSent: next,
      statusCodes: result.statusCodeStats,
    },
  }),
);

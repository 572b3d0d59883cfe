import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { EXHAUSTED_RESOURCES } from '../errors.js';

/**
 * Every Prometheus metric callstream exposes on GET /metrics, in one place. The README's
 * operations section says which to alert on.
 */
export class Metrics {
  readonly registry = new Registry();

  // Receiver
  readonly httpRequests = new Counter({ name: 'callstream_http_requests_total', help: 'HTTP requests by route and status code.', labelNames: ['route', 'status'], registers: [this.registry] });
  readonly httpDuration = new Histogram({
    name: 'callstream_http_request_duration_seconds',
    help: 'HTTP request latency (receipt to answer, including the broker ack).',
    labelNames: ['route'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly eventsPublished = new Counter({ name: 'callstream_events_published_total', help: 'Valid events acknowledged by the broker, by family (call, campaign, compliance; telephony for provider callbacks).', labelNames: ['family'], registers: [this.registry] });
  readonly rejected = new Counter({ name: 'callstream_requests_rejected_total', help: 'Requests refused (kept in the audit topic), by error code.', labelNames: ['code'], registers: [this.registry] });
  readonly publishErrors = new Counter({ name: 'callstream_publish_errors_total', help: 'Produce requests the broker did not acknowledge.', registers: [this.registry] });

  // Sink
  readonly recordsConsumed = new Counter({ name: 'callstream_sink_records_consumed_total', help: 'Records read from the events topic.', registers: [this.registry] });
  readonly batches = new Counter({ name: 'callstream_sink_batches_total', help: 'Warehouse writes (flushes).', registers: [this.registry] });
  readonly rowsUpserted = new Counter({ name: 'callstream_sink_rows_upserted_total', help: 'Rows written to the warehouse (before the version guard).', registers: [this.registry] });
  readonly duplicates = new Counter({
    name: 'callstream_sink_duplicates_total',
    help: 'Records that were an older or identical version of a key in the same flush (dropped before the write).',
    registers: [this.registry],
  });
  readonly writeDuration = new Histogram({
    name: 'callstream_sink_write_duration_seconds',
    help: 'Duration of one warehouse write (all tables of a flush).',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly retries = new Counter({ name: 'callstream_sink_write_retries_total', help: 'Warehouse writes retried after a transient failure.', registers: [this.registry] });
  readonly registryWaits = new Counter({
    name: 'callstream_sink_schema_registry_waits_total',
    help: 'Times the sink waited for an unavailable schema registry before decoding a batch (nothing is committed meanwhile).',
    registers: [this.registry],
  });
  readonly erasureLearnedEvicted = new Counter({
    name: 'callstream_sink_erasure_learned_evicted_total',
    help: 'Refused calls of erased subjects the sink forgot to stay within its limit (their later callbacks and requests are no longer refused by it).',
    registers: [this.registry],
  });
  readonly erasedLate = new Counter({
    name: 'callstream_sink_erased_late_rows_total',
    help: 'Rows an erasure recorded while the sink held them covers: dropped from a buffered or retried write (stage="buffered"), or deleted by the sink after a write under way wrote them (stage="in_flight").',
    labelNames: ['stage'],
    registers: [this.registry],
  });
  readonly callGaps = new Gauge({
    name: 'callstream_call_gaps',
    help: 'Calls the call_gaps view lists now, by kind: unreported (the provider says it ended, no call.completed), no_provider, stuck. Counted by the sink every CALLSTREAM_GAPS_CHECK_INTERVAL_MS.',
    labelNames: ['kind'],
    registers: [this.registry],
  });
  readonly callGapsChecked = new Gauge({
    name: 'callstream_call_gaps_checked_timestamp_seconds',
    help: 'When the sink last counted the call_gaps view (Unix seconds): callstream_call_gaps is that fresh.',
    registers: [this.registry],
  });
  readonly deadLettered = new Counter({ name: 'callstream_sink_dead_lettered_total', help: 'Records sent to the dead-letter topic.', registers: [this.registry] });
  readonly replayed = new Counter({
    name: 'callstream_sink_replayed_records_total',
    help: 'Records whose upsert changed nothing because the table already held that or a newer version: redeliveries, duplicates across flushes and replays (the replay volume).',
    registers: [this.registry],
  });
  readonly exhausted = new Counter({
    name: 'callstream_sink_warehouse_exhausted_total',
    help: 'Warehouse write attempts that failed for want of memory or disk (SINK_WAREHOUSE_EXHAUSTED), by resource; each is followed by a recovery of the warehouse and smaller pieces.',
    labelNames: ['resource'],
    registers: [this.registry],
  });
  readonly exhaustedNow = new Gauge({
    name: 'callstream_sink_warehouse_exhausted',
    help: '1 while the last warehouse write attempt failed for want of this resource (memory, disk), 0 once a write succeeded; `callstream status` reads it.',
    labelNames: ['resource'],
    registers: [this.registry],
  });
  readonly lastWrite = new Gauge({
    name: 'callstream_sink_last_write_timestamp_seconds',
    help: 'Unix time of the last warehouse write (0: none since the process started); `callstream status` reads it.',
    registers: [this.registry],
  });
  readonly lag = new Gauge({ name: 'callstream_sink_consumer_lag', help: 'Records behind the end of the partition (backlog), per partition.', labelNames: ['topic', 'partition'], registers: [this.registry] });
  readonly endToEnd = new Histogram({
    name: 'callstream_end_to_end_delay_seconds',
    help: 'Receipt of the webhook to its row being written.',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900],
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'callstream_process_' });
    // Served from the start, so that an alert or `callstream status` tells 0 from "not exposed".
    for (const resource of EXHAUSTED_RESOURCES) {
      this.exhausted.inc({ resource }, 0);
      this.exhaustedNow.set({ resource }, 0);
    }
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

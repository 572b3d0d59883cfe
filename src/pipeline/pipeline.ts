import type { Server } from 'node:http';
import { resolve } from 'node:path';
import type { Admin, Kafka } from 'kafkajs';
import { AvroCodec, schemasDir } from '../codec/index.js';
import { duckDbPath, loadTelephonyVendors, NO_TELEPHONY_VENDORS, type BigQuerySettings, type Config } from '../config/index.js';
import { connectKafkaClient, createKafka, ensureTopics, IdempotentProducer, Publisher, startLocalBroker, stopLocalBroker } from '../kafka/index.js';
import { CallstreamError } from '../errors.js';
import type { Logger } from '../logger.js';
import { Metrics } from '../metrics/index.js';
import { AccessPolicy, ReceiptClock, Receiver } from '../receiver/index.js';
import { GapMonitor, warehouseGapsSource } from '../gaps/index.js';
import { SinkConnector } from '../sink/index.js';
import { createWarehouse, type Warehouse } from '../warehouse/index.js';
import { erase, erasureRecord, type EraseReceipt, type ErasureSubject } from '../erasure/index.js';
import { PiiPolicy } from '../privacy/pii.js';
import { querySocketPath, serveQueries } from '../query-socket/index.js';
import { newestReceiptTime, receiptTopics } from './receipt-floor.js';
import { connectSchemaRegistry } from './schema-registry.js';

export interface PipelineOptions {
  config: Config;
  logger: Logger;
  /** Which parts run in this process (default: all). */
  receiver?: boolean;
  sink?: boolean;
  /** A warehouse to use instead of the one the config names (tests). */
  warehouse?: Warehouse;
  /** BigQuery settings from the connector file, when the config names BigQuery. */
  bigquery?: BigQuerySettings;
  /** Start the local broker when KAFKA_BROKERS is unset (default true). */
  manageBroker?: boolean;
  /** Serve `callstream query` on the data folder's socket (default: when DuckDB is owned here). */
  querySocket?: boolean;
  /** The receiver's wall clock, for tests (default Date.now): see ReceiptClock. */
  now?: () => number;
}

/**
 * Wires receiver -> Kafka -> sink -> warehouse in one process and takes it down again
 * in the reverse order. `npm start` runs all of it; `callstream receiver` and
 * `callstream sink` run one side each.
 */
/** How often the sink counts call_gaps unless told: each minute on DuckDB, every 15 minutes where a query is billed. */
const GAPS_CHECK_DEFAULT_MS: Record<Warehouse['kind'], number> = { duckdb: 60_000, bigquery: 900_000 };

export class Pipeline {
  receiver?: Receiver;
  sink?: SinkConnector;
  warehouse?: Warehouse;
  readonly codec = AvroCodec.fromDirectory(schemasDir());
  readonly metrics = new Metrics();
  private producer?: IdempotentProducer;
  private publisher?: Publisher;
  private admin?: Admin;
  private startedBroker = false;
  private querySocket?: Server;
  private stopping?: Promise<void>;
  private ownsWarehouse = false;
  private readonly clock: ReceiptClock;
  private gapMonitor?: GapMonitor;

  constructor(private readonly options: PipelineOptions) {
    this.clock = new ReceiptClock(options.now);
  }

  get config(): Config {
    return this.options.config;
  }

  async start(): Promise<void> {
    const { config, logger } = this.options;
    const withReceiver = this.options.receiver ?? true;
    const withSink = this.options.sink ?? true;
    // Read before anything starts: a bad vendors file or a missing secret stops start-up at once.
    const telephonyVendors = withReceiver ? loadTelephonyVendors(config.telephonyVendors) : NO_TELEPHONY_VENDORS;
    if (withReceiver) logger.info({ vendors: [...telephonyVendors.values()].map((v) => `${v.slug} (${v.scheme})`) }, 'telephony vendors');
    if (!config.kafkaBrokers && (this.options.manageBroker ?? true)) this.startedBroker = await startLocalBroker(logger);

    const kafka = createKafka(config, logger);
    this.admin = kafka.admin();
    await connectKafkaClient(this.admin, config);
    const topics = await ensureTopics(this.admin, config, logger);
    await connectSchemaRegistry(this.codec, config, logger, { writes: withReceiver });
    if (withReceiver) await this.stampAboveTopics(kafka);

    this.producer = new IdempotentProducer(kafka, config, logger);
    await this.producer.connect();
    this.publisher = new Publisher(this.producer, logger, { lingerMs: config.publishLingerMs, recordLimits: topics.recordLimits, partitions: topics.partitions, onError: () => this.metrics.publishErrors.inc() });

    if (withSink) {
      this.ownsWarehouse = !this.options.warehouse;
      this.warehouse = this.options.warehouse ?? (await createWarehouse(config, duckDbPath(config), this.options.bigquery, logger));
      this.sink = new SinkConnector({
        kafka,
        config,
        codec: this.codec,
        warehouse: this.warehouse,
        deadLetters: this.publisher,
        metrics: this.metrics,
        logger: logger.child({ component: 'sink' }),
        onFatal: () => void this.stop().then(() => process.exit(1)),
      });
      await this.sink.start();
      const sink = this.sink;
      this.gapMonitor = new GapMonitor(warehouseGapsSource(this.warehouse), this.metrics, logger.child({ component: 'gaps' }), config.gapsCheckIntervalMs ?? GAPS_CHECK_DEFAULT_MS[this.warehouse.kind], () => sink.holds(config.topicEvents, 0));
      this.gapMonitor.start();
      if (this.options.querySocket ?? this.warehouse.kind === 'duckdb') {
        this.querySocket = await serveQueries(querySocketPath(resolve(config.dataDir)), this.warehouse, logger, (request) => this.erase(request.subject, request));
      }
    }
    // A sink-only process still serves /healthz, /readyz and /metrics on PORT.
    this.receiver = new Receiver({
      ctx: { config, telephonyVendors, codec: this.codec, publisher: this.publisher, logger: logger.child({ component: 'receiver' }), metrics: this.metrics, access: new AccessPolicy(config), clock: this.clock },
      readiness: () => this.readiness(),
      webhooks: withReceiver,
    });
    const address = await this.receiver.listen();
    logger.info({ url: `http://${address.address}:${address.port}`, webhooks: withReceiver }, withReceiver ? 'receiver listening' : 'health and metrics listening');
    await this.waitUntilReady(30_000);
    logger.info({ readiness: this.readiness().components }, 'callstream is ready');
  }

  /**
   * Receipt times order versions, so a receiver stamps above every receipt time already on its
   * topics, whatever this host's clock says (receipt-floor.ts); a clock behind them is logged.
   */
  private async stampAboveTopics(kafka: Kafka): Promise<void> {
    const { config, logger } = this.options;
    const topics = receiptTopics(config);
    const newest = await newestReceiptTime(kafka, this.admin!, this.codec, topics, logger).catch((cause) => {
      throw new CallstreamError('KAFKA_UNAVAILABLE', `Could not read the newest receipt time on ${topics.join(', ')}: a receiver reads the last record of each partition at start (read access to them, and to groups callstream-receipt-*)`, { cause });
    });
    this.clock.after(newest);
    const behind = this.clock.behindBy();
    if (behind > 0) {
      logger.warn({ newestReceipt: new Date(newest).toISOString(), behindMs: behind }, 'this host\'s clock is behind the newest receipt time on the topics: receipt times are held above it until the clock catches up; check NTP');
    }
  }

  /**
   * `callstream erase` in this process (through the query socket when it owns DuckDB): the
   * erasure is recorded in the erasures topic and honoured by this sink before any row is deleted,
   * so nothing it writes afterwards brings a row back.
   */
  async erase(subject: ErasureSubject, options: { dryRun: boolean }): Promise<EraseReceipt> {
    const { sink, warehouse, publisher } = this;
    if (!sink || !warehouse || !publisher) throw new CallstreamError('ERASE_SUBJECT_INVALID', 'This process runs no sink: it cannot erase');
    const receipt = await erase(
      {
        warehouse,
        pii: PiiPolicy.fromConfig(this.config),
        record: async (erasure) => {
          await publisher.publish([erasureRecord(this.config.topicErasures, erasure)]).catch((cause) => {
            throw new CallstreamError('ERASE_PUBLISH_FAILED', undefined, { cause });
          });
          sink.erasures.apply(erasure.key, erasure);
        },
        recorded: async (key) => sink.erasures.recorded(key),
        settle: () => sink.writtenSoFar(),
      },
      subject,
      options,
    );
    this.options.logger.info({ kind: subject.kind, dryRun: options.dryRun, rows: receipt.total }, 'erasure done');
    return receipt;
  }

  /** Readiness of the producer and the sink (the receiver adds its own). */
  readiness(): { ready: boolean; components: Record<string, boolean> } {
    const components: Record<string, boolean> = { producer: this.producer?.connected ?? false };
    if (this.sink) components.sink = this.sink.ready;
    return { ready: Object.values(components).every(Boolean), components };
  }

  private async waitUntilReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.readiness().ready && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (!this.readiness().ready) this.options.logger.warn({ readiness: this.readiness().components }, 'not ready yet; /readyz answers 503 until it is');
  }

  /** Graceful stop: in-flight requests finish, the sink flushes and commits, the broker we started stops. */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    const { config, logger } = this.options;
    logger.info('shutting down');
    const step = async (name: string, work: () => Promise<unknown> | undefined) => {
      try {
        await work();
      } catch (err) {
        logger.warn({ err, step: name }, 'shutdown step failed');
      }
    };
    await step('receiver', () => this.receiver?.close(config.shutdownTimeoutMs / 2));
    await step('gaps', () => this.gapMonitor?.stop());
    await step('sink', () => this.sink?.stop());
    await step('publisher', () => this.publisher?.flush());
    await step('producer', () => this.producer?.disconnect());
    await step('admin', () => this.admin?.disconnect());
    await step('query socket', () => (this.querySocket ? new Promise((r) => this.querySocket!.close(r)) : undefined));
    await step('warehouse', () => (this.ownsWarehouse ? this.warehouse?.close() : undefined));
    if (this.startedBroker) await step('broker', () => stopLocalBroker(logger));
    logger.info('stopped');
  }
}


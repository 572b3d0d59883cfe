import { adapt, managedwriter, type protos } from '@google-cloud/bigquery-storage';
import type { TableField } from '@google-cloud/bigquery';
import { GoogleAuth, OAuth2Client } from 'google-auth-library';
import { grpc, type ClientOptions } from 'google-gax';
import type { BigQuerySettings } from '../../config/index.js';
import { CallstreamError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { type AppendOutcome, type AppendStats, AppendWindow } from './append-window.js';

/** A row as the Storage Write API's JSON writer takes it (TIMESTAMP as Date). */
export type AppendRow = Parameters<managedwriter.JSONWriter['appendRows']>[0][number];

/** gRPC status codes the append path tells apart (https://grpc.github.io/grpc/core/md_doc_statuscodes.html). */
const GRPC = { INVALID_ARGUMENT: 3, NOT_FOUND: 5, ALREADY_EXISTS: 6, FAILED_PRECONDITION: 9, OUT_OF_RANGE: 11 } as const;

/** Tries of one append at its offset before the stream is given up (the outcome of the last try is unknown). */
const APPEND_ATTEMPTS = 4;
const RETRY_BASE_MS = 100;
/** An append not answered by then is treated as lost; the retry at the same offset tells. */
const APPEND_TIMEOUT_MS = 30_000;

export type { AppendOutcome, AppendStats } from './append-window.js';

/**
 * The Storage Write API client of a connector: the official managedwriter, on Google's
 * endpoint or settings.storageWriteEndpoint; with credentials "none" (an emulator) over a
 * plaintext channel and without looking for Google credentials.
 */
export function createWriterClient(settings: BigQuerySettings): managedwriter.WriterClient {
  const options: ClientOptions & Record<string, unknown> = {
    projectId: settings.projectId,
    // Come back quickly after an outage instead of gRPC's default backoff of up to 120 s.
    'grpc.initial_reconnect_backoff_ms': 200,
    'grpc.max_reconnect_backoff_ms': 5_000,
  };
  if (settings.storageWriteEndpoint) {
    const at = settings.storageWriteEndpoint.lastIndexOf(':');
    options.apiEndpoint = settings.storageWriteEndpoint.slice(0, at);
    options.port = Number(settings.storageWriteEndpoint.slice(at + 1));
  }
  if (settings.credentials === 'none') {
    options.sslCreds = grpc.credentials.createInsecure();
    const authClient = new OAuth2Client();
    authClient.setCredentials({ access_token: 'emulator' });
    options.auth = new GoogleAuth({ authClient }) as unknown as ClientOptions['auth'];
  } else if (typeof settings.credentials === 'object') {
    options.keyFilename = settings.credentials.keyFile;
  }
  return new managedwriter.WriterClient(options);
}

/** The proto descriptor the JSON writer encodes rows with, from the table's fields. */
export function protoDescriptorFor(fields: TableField[]): protos.google.protobuf.IDescriptorProto {
  const storageSchema = adapt.convertBigQuerySchemaToStorageTableSchema({ fields: fields as never });
  return adapt.convertStorageSchemaToProto2Descriptor(storageSchema, 'root');
}

/**
 * One COMMITTED write stream into one table, appended to at offsets this side counts, up to
 * `appendsInFlight` requests at once on one connection (AppendWindow: what happens when a
 * try fails). A try whose answer is lost (connection reset, timeout) is sent again at the
 * same offset; the API answers ALREADY_EXISTS when the first try had landed, so a retried
 * append is never stored twice. When every try failed, the stream is given up (whether the
 * last try landed is unknown) and the next append opens a fresh stream at offset 0: rows of
 * the lost try may then be in the table once more under their own stage id, which is harmless
 * to the target (the staged MERGE keeps one row per key; see docs/bigquery.md).
 */
export class CommittedStream {
  private streamId?: string;
  private writer?: managedwriter.JSONWriter;
  private opening?: Promise<managedwriter.JSONWriter>;
  private readonly window: AppendWindow<AppendRow>;

  constructor(
    private readonly client: managedwriter.WriterClient,
    /** projects/{project}/datasets/{dataset}/tables/{table} */
    readonly table: string,
    private readonly descriptor: protos.google.protobuf.IDescriptorProto,
    private readonly logger: Logger,
    appendsInFlight = 1,
  ) {
    const options = { inFlight: appendsInFlight, attempts: APPEND_ATTEMPTS, retryBaseMs: RETRY_BASE_MS, table, classify: classifyAppendError, streamIsGone };
    this.window = new AppendWindow<AppendRow>(this, options, logger);
  }

  get stats(): AppendStats {
    return this.window.stats;
  }

  /** Appends rows (one request, under the API's 10 MiB) after the appends before it; resolves once they are committed. */
  append(rows: AppendRow[], bytes: number): Promise<void> {
    return this.window.append(rows, bytes);
  }

  /**
   * One try of an append at a given offset, for the append path and for tests of a retry:
   * resolves 'already-there' when the stream already holds rows at that offset.
   */
  async appendAt(offset: number, rows: AppendRow[]): Promise<AppendOutcome> {
    const writer = await this.open();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error(`append at offset ${offset} not answered within ${APPEND_TIMEOUT_MS} ms`), { code: 4 })), APPEND_TIMEOUT_MS);
    });
    try {
      const response = await Promise.race([writer.appendRows(rows, offset).getResult(), timeout]);
      const error = response.error;
      if (!error || error.code === 0) return 'appended';
      if (error.code === GRPC.ALREADY_EXISTS) return 'already-there';
      throw Object.assign(new Error(error.message ?? `append failed with gRPC status ${error.code}`), { code: error.code, rowErrors: response.rowErrors ?? [] });
    } finally {
      clearTimeout(timer);
    }
  }

  /** The connection, opened once for all the tries that wait for it. */
  private open(): Promise<managedwriter.JSONWriter> {
    if (this.writer) return Promise.resolve(this.writer);
    this.opening ??= this.connect().finally(() => (this.opening = undefined));
    return this.opening;
  }

  private async connect(): Promise<managedwriter.JSONWriter> {
    if (!this.streamId) {
      this.streamId = await this.client.createWriteStream({ streamType: managedwriter.CommittedStream, destinationTable: this.table });
      this.window.stats.streams++;
    }
    const connection = await this.client.createStreamConnection({ streamId: this.streamId });
    // Without a listener a connection error would be thrown as an unhandled 'error' event.
    connection.onConnectionError((err) => this.logger.debug({ table: this.table, err: err.message }, 'Storage Write connection error'));
    this.writer = new managedwriter.JSONWriter({ connection, protoDescriptor: this.descriptor });
    return this.writer;
  }

  dropConnection(): void {
    try {
      this.writer?.close();
    } catch {
      // already closed
    }
    this.writer = undefined;
  }

  dropStream(): void {
    this.dropConnection();
    this.streamId = undefined;
  }

  /** Closes the connection; the committed rows stay. */
  close(): void {
    this.window.close();
    this.dropConnection();
  }
}

function streamIsGone(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return code === GRPC.NOT_FOUND || code === GRPC.OUT_OF_RANGE || code === GRPC.FAILED_PRECONDITION;
}

/**
 * Maps a Storage Write error to callstream's codes: a request refused for its rows
 * (INVALID_ARGUMENT with row errors) is SINK_ROW_REJECTED, which the sink narrows down to the
 * rows at fault; anything else (unavailable, deadline, quota, a stream or table gone) is
 * SINK_WAREHOUSE_UNAVAILABLE and retried.
 */
export function classifyAppendError(err: unknown, what: string): CallstreamError {
  if (err instanceof CallstreamError) return err;
  const e = (err ?? {}) as { code?: unknown; message?: string; rowErrors?: unknown[] };
  const rowFault = e.code === GRPC.INVALID_ARGUMENT && (e.rowErrors?.length ?? 0) > 0;
  const message = `${what}: ${String(e.message ?? err).slice(0, 1000)}`;
  return new CallstreamError(rowFault ? 'SINK_ROW_REJECTED' : 'SINK_WAREHOUSE_UNAVAILABLE', message, { cause: err });
}

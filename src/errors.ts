/**
 * The one place where callstream's error codes live.
 *
 * A code is stable: it appears in HTTP bodies, logs and dead-letter headers, so
 * dashboards and alerts can key on it. A retired code is never reused.
 */
export const ErrorCodes = {
  // Receiver: answers to the HTTP client (4xx) or a temporary refusal (503).
  RCV_MALFORMED_JSON: { status: 400, retriable: false, message: 'The body is not valid JSON.' },
  RCV_MALFORMED_FORM: { status: 400, retriable: false, message: 'The body is not valid form data (application/x-www-form-urlencoded, UTF-8).' },
  RCV_NOT_AN_OBJECT: { status: 400, retriable: false, message: 'Expected a JSON object at the top level.' },
  RCV_EMPTY_BODY: { status: 400, retriable: false, message: 'The request body is empty.' },
  RCV_UNSUPPORTED_MEDIA_TYPE: { status: 415, retriable: false, message: 'Expected Content-Type: application/json.' },
  RCV_PAYLOAD_TOO_LARGE: { status: 413, retriable: false, message: 'The body is larger than the configured limit.' },
  RCV_SCHEMA_INVALID: { status: 422, retriable: false, message: 'The event does not match the expected schema.' },
  RCV_UNSTORABLE_VALUE: { status: 422, retriable: false, message: 'The JSON holds a value no warehouse column stores as sent (a lone UTF-16 surrogate, or a number a double does not hold exactly); details.fields names each.' },
  RCV_RECORD_TOO_LARGE: { status: 413, retriable: false, message: 'The request is under the body limit, but its record is larger than the topic accepts (max.message.bytes).' },
  RCV_NESTING_TOO_DEEP: { status: 400, retriable: false, message: 'The JSON nests deeper than allowed.' },
  RCV_NUL_CHARACTER: { status: 400, retriable: false, message: 'The body contains a NUL character (U+0000): in a JSON string or key, or in a form field name or value.' },
  RCV_UNSUPPORTED_ENCODING: { status: 415, retriable: false, message: 'Unsupported Content-Encoding; expected gzip, deflate or identity.' },
  RCV_AUTH_REQUIRED: { status: 401, retriable: false, message: 'Missing or wrong credentials.' },
  RCV_SIGNATURE_INVALID: { status: 401, retriable: false, message: 'The request\'s signature or token could not be verified.' },
  RCV_SIGNATURE_EXPIRED: { status: 401, retriable: false, message: 'The signature timestamp is missing or outside the tolerance.' },
  RCV_TENANT_FORBIDDEN: { status: 403, retriable: false, message: 'Events for this tenant_id are not accepted here.' },
  RCV_SOURCE_FORBIDDEN: { status: 403, retriable: false, message: 'Requests from this address are not accepted.' },
  RCV_NOT_FOUND: { status: 404, retriable: false, message: 'No such route.' },
  RCV_UNKNOWN_VENDOR: { status: 404, retriable: false, message: 'No telephony vendor with this slug is configured.' },
  RCV_METHOD_NOT_ALLOWED: { status: 405, retriable: false, message: 'Method not allowed on this route.' },
  RCV_BROKER_UNAVAILABLE: { status: 503, retriable: true, message: 'The event could not be stored right now; retry later.' },
  RCV_SHUTTING_DOWN: { status: 503, retriable: true, message: 'The receiver is shutting down; retry later.' },
  /**
   * A fault of the receiver's own (a bug), not of the request or the broker. Answered 503 with
   * Retry-After like the other temporary refusals: nothing was acknowledged, so the sender's
   * retry is safe, and a sender (or a test) that tells 503 from other 5xx needs no new case.
   */
  RCV_INTERNAL_ERROR: { status: 503, retriable: true, message: 'The receiver failed unexpectedly; nothing was acknowledged. Retry; its log has the cause under this request\'s X-Request-Id.' },
  RCV_BODY_TIMEOUT: { status: 408, retriable: true, message: 'The body did not arrive in time.' },
  RCV_HEADERS_TOO_LARGE: { status: 431, retriable: false, message: 'The request\'s headers are larger than the server accepts.' },
  RCV_MALFORMED_HTTP: { status: 400, retriable: false, message: 'The request is not valid HTTP/1.1.' },
  // Codec: Avro encoding and decoding.
  CODEC_UNKNOWN_SCHEMA: { status: 500, retriable: false, message: 'The record names a schema (fingerprint or registry id) this build cannot read.' },
  CODEC_BAD_FRAME: { status: 500, retriable: false, message: 'The record is neither an Avro single-object frame nor in the schema registry\'s wire format.' },
  CODEC_REGISTRY_UNAVAILABLE: { status: 503, retriable: true, message: 'The schema registry did not answer; retried.' },
  CODEC_REGISTRY_REFUSED: { status: 500, retriable: false, message: 'The schema registry refused the request (incompatible schema, unknown subject or id, credentials).' },
  CODEC_ENCODE_FAILED: { status: 500, retriable: false, message: 'The value does not fit the Avro schema.' },
  // Kafka.
  KAFKA_UNAVAILABLE: { status: 503, retriable: true, message: 'The Kafka cluster cannot be reached.' },
  KAFKA_RECORD_TOO_LARGE: { status: 413, retriable: false, message: 'The record is larger than its topic takes (max.message.bytes).' },
  KAFKA_AUTH_FAILED: { status: 500, retriable: false, message: 'The brokers refused the SASL credentials (KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD).' },
  KAFKA_TLS_FAILED: { status: 500, retriable: false, message: 'The TLS handshake with the brokers failed (KAFKA_SSL, KAFKA_SSL_CA_FILE; or TLS against a plaintext listener).' },
  KAFKA_TOPIC_SETUP_FAILED: { status: 500, retriable: true, message: 'The topics could not be created or checked.' },
  KAFKA_TOPIC_UNSAFE: { status: 500, retriable: false, message: 'A topic\'s settings break what callstream promises (compaction, the erasures\' retention, min.insync.replicas, unclean leader election); the message names each topic, setting and the kafka-configs command that fixes it.' },
  // Sink and warehouse.
  SINK_WAREHOUSE_UNAVAILABLE: { status: 503, retriable: true, message: 'The warehouse write failed; it will be retried.' },
  /**
   * The warehouse ran out of memory or disk space (details.resource: 'memory' or 'disk'): DuckDB's
   * "Out of Memory Error", "No space left on device", a full temp directory (max_temp_directory_size);
   * BigQuery's resourcesExceeded. Retried like an outage, but not with the same batch as is: the sink
   * writes it in smaller pieces and recovers the warehouse first (DuckDB reopens its file), and goes
   * on by itself once the resource is there again. See docs/operations.md (CallstreamWarehouseExhausted).
   */
  SINK_WAREHOUSE_EXHAUSTED: { status: 503, retriable: true, message: 'The warehouse ran out of memory or disk space; the sink writes smaller pieces, recovers the warehouse and retries.' },
  SINK_ROW_REJECTED: { status: 500, retriable: false, message: 'The warehouse refused this record permanently.' },
  SINK_DECODE_FAILED: { status: 500, retriable: false, message: 'The record could not be decoded.' },
  SINK_GROUP_SHARED: { status: 500, retriable: false, message: 'A sink writing to another warehouse consumes in this consumer group; a group belongs to one warehouse (set CALLSTREAM_CONSUMER_GROUP).' },
  WH_QUERY_FAILED: { status: 400, retriable: false, message: 'The query failed (queries run in a read-only transaction).' },
  WH_QUERY_REFUSED: { status: 400, retriable: false, message: 'Only one read-only SELECT statement is allowed, without file or network access.' },
  WH_QUERY_TIMEOUT: { status: 400, retriable: false, message: 'The query ran longer than CALLSTREAM_QUERY_TIMEOUT_MS and was interrupted.' },
  WH_ERASE_FAILED: { status: 503, retriable: true, message: 'The erasure could not count or delete the matching rows; run it again (an erasure is idempotent).' },
  // Erasure (callstream erase).
  ERASE_SUBJECT_INVALID: { status: 400, retriable: false, message: 'Expected one subject to erase: a phone number in E.164, a call id or a tenant id.' },
  ERASE_REQUEST_INVALID: { status: 400, retriable: false, message: 'The erase request is not {subject: {kind, value}, dryRun}; details.issues names each problem. Nothing was erased.' },
  ERASE_PUBLISH_FAILED: { status: 503, retriable: true, message: 'The erasure could not be recorded in the erasures topic; nothing was deleted. Retry.' },
  // Configuration and start-up.
  CFG_INVALID: { status: 500, retriable: false, message: 'The configuration is invalid.' },
  INFRA_BROKER_START_FAILED: { status: 500, retriable: false, message: 'The local Kafka broker could not be started.' },
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

/** What a warehouse ran out of (SINK_WAREHOUSE_EXHAUSTED): the metrics' and status's `resource`. */
export const EXHAUSTED_RESOURCES = ['memory', 'disk'] as const;
export type ExhaustedResource = (typeof EXHAUSTED_RESOURCES)[number];

/** The base error: a stable code, whether a retry can help, and the cause. */
export class CallstreamError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly status: number;
  readonly details?: unknown;

  constructor(code: ErrorCode, message?: string, options: { cause?: unknown; details?: unknown } = {}) {
    super(message ?? ErrorCodes[code].message, { cause: options.cause });
    this.name = 'CallstreamError';
    this.code = code;
    this.retriable = ErrorCodes[code].retriable;
    this.status = ErrorCodes[code].status;
    this.details = options.details;
  }

  /** The machine-readable body sent to HTTP clients. */
  toBody(): { error: { code: ErrorCode; message: string; details?: unknown } } {
    return { error: { code: this.code, message: this.message, ...(this.details === undefined ? {} : { details: this.details }) } };
  }
}

export function isCallstreamError(err: unknown, code?: ErrorCode): err is CallstreamError {
  return err instanceof CallstreamError && (code === undefined || err.code === code);
}

/**
 * The resource a SINK_WAREHOUSE_EXHAUSTED error names in its details (memory when it names none);
 * undefined for any other error.
 */
export function exhaustedResource(err: unknown): ExhaustedResource | undefined {
  if (!isCallstreamError(err, 'SINK_WAREHOUSE_EXHAUSTED')) return undefined;
  const resource = (err.details as { resource?: unknown } | undefined)?.resource;
  return EXHAUSTED_RESOURCES.find((r) => r === resource) ?? 'memory';
}

/** A short text for logs and dead-letter headers, including the cause chain. */
export function describeError(err: unknown): string {
  const parts: string[] = [];
  let current: unknown = err;
  for (let depth = 0; current && depth < 5; depth++) {
    if (current instanceof Error) {
      parts.push(current instanceof CallstreamError ? `${current.code}: ${current.message}` : `${current.name}: ${current.message}`);
      current = current.cause;
    } else {
      parts.push(String(current));
      break;
    }
  }
  return parts.join(' <- ');
}

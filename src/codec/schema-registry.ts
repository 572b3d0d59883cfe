import { CallstreamError } from '../errors.js';

export interface SchemaRegistryOptions {
  /** Base URL of a Confluent-compatible registry, e.g. http://registry:8081 or https://psrc-….confluent.cloud. */
  url: string;
  /** Basic auth (Confluent Cloud: API key and secret). */
  username?: string;
  password?: string;
  /** Per request (default 10 s). */
  timeoutMs?: number;
}

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

/**
 * The few calls of the Confluent Schema Registry REST API callstream needs: register or
 * look up a schema under a subject (its id), and read a schema by id. Ids are immutable, so
 * callers may cache what this returns for ever.
 *
 * Errors: CODEC_REGISTRY_UNAVAILABLE when the registry cannot answer (network, timeout,
 * 5xx, 429: worth retrying), CODEC_REGISTRY_REFUSED when it answered no (4xx: an
 * incompatible schema, an unknown subject or id, bad credentials), with the registry's
 * own error_code and message in `details`.
 */
export class SchemaRegistryClient {
  private readonly base: string;
  private readonly headers: Record<string, string>;

  constructor(private readonly options: SchemaRegistryOptions) {
    this.base = options.url.replace(/\/+$/, '');
    this.headers = { accept: CONTENT_TYPE, 'content-type': CONTENT_TYPE };
    if (options.username !== undefined) {
      this.headers.authorization = `Basic ${Buffer.from(`${options.username}:${options.password ?? ''}`).toString('base64')}`;
    }
  }

  /** Registers the schema under the subject (a no-op if it is there) and returns its id. */
  async register(subject: string, schema: string): Promise<number> {
    const body = await this.call('POST', `/subjects/${encodeURIComponent(subject)}/versions`, { schema });
    return idOf(body, `registering under ${subject}`);
  }

  /** The id of a schema already registered under the subject (CODEC_REGISTRY_REFUSED if it is not). */
  async lookup(subject: string, schema: string): Promise<number> {
    const body = await this.call('POST', `/subjects/${encodeURIComponent(subject)}`, { schema });
    return idOf(body, `looking up under ${subject}`);
  }

  /** The schema text of an id. */
  async schemaById(id: number): Promise<string> {
    const body = (await this.call('GET', `/schemas/ids/${id}`)) as { schema?: unknown; schemaType?: unknown };
    if (typeof body?.schema !== 'string') throw new CallstreamError('CODEC_REGISTRY_REFUSED', `The registry's answer for schema id ${id} has no schema`);
    if (body.schemaType !== undefined && body.schemaType !== 'AVRO') {
      throw new CallstreamError('CODEC_REGISTRY_REFUSED', `Schema id ${id} is a ${String(body.schemaType)} schema, not Avro`);
    }
    return body.schema;
  }

  private async call(method: 'GET' | 'POST', path: string, json?: unknown): Promise<unknown> {
    const what = `${method} ${path}`;
    let response: Response;
    try {
      response = await fetch(this.base + path, {
        method,
        headers: this.headers,
        body: json === undefined ? undefined : JSON.stringify(json),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
      });
    } catch (cause) {
      throw new CallstreamError('CODEC_REGISTRY_UNAVAILABLE', `Schema registry ${this.base} did not answer ${what}`, { cause });
    }
    const text = await response.text().catch(() => '');
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    if (response.ok) return body;
    const registry = body as { error_code?: unknown; message?: unknown } | undefined;
    const details = { status: response.status, errorCode: registry?.error_code, message: registry?.message ?? text.slice(0, 500) };
    const code = response.status >= 500 || response.status === 429 || response.status === 408 ? 'CODEC_REGISTRY_UNAVAILABLE' : 'CODEC_REGISTRY_REFUSED';
    throw new CallstreamError(code, `Schema registry answered ${response.status} to ${what}: ${String(details.message)}`, { details });
  }
}

function idOf(body: unknown, what: string): number {
  const id = (body as { id?: unknown } | undefined)?.id;
  if (typeof id !== 'number' || !Number.isInteger(id)) throw new CallstreamError('CODEC_REGISTRY_REFUSED', `The registry's answer to ${what} has no schema id`);
  return id;
}

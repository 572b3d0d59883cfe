import type { IncomingMessage } from 'node:http';
import type { Config } from '../../config/index.js';
import { CallstreamError } from '../../errors.js';
import type { ValidEvent } from '../../events/index.js';
import { buildAllowlist, clientAddress, isAllowed } from './client-address.js';
import { verifyHmac, type HmacOptions } from './hmac-signature.js';
import { safeEqual } from '../verify/constant-time.js';
import { verifyStandardWebhooks } from './standard-webhooks.js';

/**
 * The receiver's access control, each part optional and configured per deployment:
 * source CIDRs, a bearer token or secret path, an HMAC signature (private contract) or
 * Standard Webhooks signature, and a tenant allowlist. Checks return the refusal (401 or
 * 403 with a stable code) or undefined.
 */
export class AccessPolicy {
  private readonly sources;
  private readonly tokens: string[] | undefined;
  private readonly secretPath: string | undefined;
  private readonly hmac: HmacOptions | undefined;
  private readonly tenants: Set<string> | undefined;

  constructor(private readonly config: Config) {
    this.sources = config.sourceCidrs ? buildAllowlist(config.sourceCidrs) : undefined;
    this.tokens = config.authTokens;
    this.secretPath = config.secretPath;
    this.hmac = config.hmacSecrets
      ? { secrets: config.hmacSecrets, header: config.hmacHeader, encoding: config.hmacEncoding, timestampHeader: config.hmacTimestampHeader, toleranceSeconds: config.signatureToleranceSeconds }
      : undefined;
    this.tenants = config.tenantAllowlist ? new Set(config.tenantAllowlist) : undefined;
  }

  /** Before anything else: is the sender's address allowed? */
  checkSource(req: IncomingMessage): CallstreamError | undefined {
    if (!this.sources) return undefined;
    const address = clientAddress(req, this.config.trustedProxyHops);
    return isAllowed(this.sources, address) ? undefined : new CallstreamError('RCV_SOURCE_FORBIDDEN', `Requests from ${address ?? 'an unknown address'} are not accepted.`);
  }

  /** Token, secret path segment and signatures, over the exact body bytes. */
  checkCredentials(req: IncomingMessage, pathSecret: string | undefined, body: Buffer): CallstreamError | undefined {
    if (this.secretPath && !(pathSecret !== undefined && safeEqual(pathSecret, this.secretPath))) {
      return new CallstreamError('RCV_AUTH_REQUIRED', 'Missing or wrong secret path segment.');
    }
    if (this.tokens) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
      if (!match || !this.tokens.some((token) => safeEqual(match[1], token))) return new CallstreamError('RCV_AUTH_REQUIRED', 'Expected Authorization: Bearer <token>.');
    }
    if (this.hmac) {
      const refusal = verifyHmac(this.hmac, req.headers, body);
      if (refusal) return refusal;
    }
    if (this.config.standardWebhooksSecrets) {
      return verifyStandardWebhooks(this.config.standardWebhooksSecrets, this.config.signatureToleranceSeconds, req.headers, body);
    }
    return undefined;
  }

  /** After validation: is the event's tenant accepted here? */
  checkTenant(event: ValidEvent): CallstreamError | undefined {
    if (!this.tenants) return undefined;
    const tenant = (event.event as { tenant_id?: number | null }).tenant_id;
    return tenant !== undefined && tenant !== null && this.tenants.has(String(tenant))
      ? undefined
      : new CallstreamError('RCV_TENANT_FORBIDDEN', `tenant_id ${tenant ?? '(none)'} is not accepted here.`);
  }
}

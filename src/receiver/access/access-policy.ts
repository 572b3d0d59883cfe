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

  /**
   * Token, secret path segment and signatures, over the exact body bytes. Returns the
   * refusal, or what verified the request for the audit trail: each check that passed, with
   * which of its secrets (e.g. "bearer #1, hmac #2"); null when no check is configured.
   */
  checkCredentials(req: IncomingMessage, pathSecret: string | undefined, body: Buffer): CallstreamError | { verifiedBy: string | null } {
    const passed: string[] = [];
    if (this.secretPath) {
      if (!(pathSecret !== undefined && safeEqual(pathSecret, this.secretPath))) return new CallstreamError('RCV_AUTH_REQUIRED', 'Missing or wrong secret path segment.');
      passed.push('secret path');
    }
    if (this.tokens) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
      const matched = match ? this.tokens.findIndex((token) => safeEqual(match[1], token)) : -1;
      if (matched < 0) return new CallstreamError('RCV_AUTH_REQUIRED', 'Expected Authorization: Bearer <token>.');
      passed.push(`bearer #${matched + 1}`);
    }
    if (this.hmac) {
      const result = verifyHmac(this.hmac, req.headers, body);
      if (result instanceof CallstreamError) return result;
      passed.push(`hmac #${result}`);
    }
    if (this.config.standardWebhooksSecrets) {
      const result = verifyStandardWebhooks(this.config.standardWebhooksSecrets, this.config.signatureToleranceSeconds, req.headers, body);
      if (result instanceof CallstreamError) return result;
      passed.push(`standard-webhooks #${result}`);
    }
    return { verifiedBy: passed.length > 0 ? passed.join(', ') : null };
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

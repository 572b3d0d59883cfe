import type { IncomingMessage } from 'node:http';
import type { Config } from '../../config/index.js';
import { CallstreamError } from '../../errors.js';
import type { ValidEvent } from '../../families/index.js';
import { verifyCallaroBearer } from './bearer.js';
import { buildAllowlist, clientAddress, isAllowed } from './client-address.js';
import { safeEqual } from './constant-time.js';
import { verifyHmac, type HmacOptions } from './hmac.js';
import { verifyStandardWebhooks } from './standard-webhooks.js';

/**
 * The Callaro route's access control, each part optional and configured per deployment:
 * source CIDRs, a bearer token or secret path, an HMAC signature (private contract) or
 * Standard Webhooks signature, and a tenant allowlist. Like every verifier of this folder,
 * a check throws its refusal (401 or 403 with a stable code).
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
  checkSource(req: IncomingMessage): void {
    if (!this.sources) return;
    const address = clientAddress(req, this.config.trustedProxyHops);
    if (!isAllowed(this.sources, address)) throw new CallstreamError('RCV_SOURCE_FORBIDDEN', `Requests from ${address ?? 'an unknown address'} are not accepted.`);
  }

  /**
   * Token, secret path segment and signatures, over the exact body bytes. Returns what
   * verified the request for the audit trail: each check that passed, with which of its
   * secrets (e.g. "bearer #1, hmac #2"); null when no check is configured.
   */
  checkCredentials(req: IncomingMessage, pathSecret: string | undefined, body: Buffer): string | null {
    const passed: string[] = [];
    if (this.secretPath) {
      if (!(pathSecret !== undefined && safeEqual(pathSecret, this.secretPath))) throw new CallstreamError('RCV_AUTH_REQUIRED', 'Missing or wrong secret path segment.');
      passed.push('secret path');
    }
    if (this.tokens) passed.push(`bearer #${verifyCallaroBearer(this.tokens, req.headers)}`);
    if (this.hmac) passed.push(`hmac #${verifyHmac(this.hmac, req.headers, body)}`);
    if (this.config.standardWebhooksSecrets) {
      passed.push(`standard-webhooks #${verifyStandardWebhooks(this.config.standardWebhooksSecrets, this.config.signatureToleranceSeconds, req.headers, body)}`);
    }
    return passed.length > 0 ? passed.join(', ') : null;
  }

  /** After validation: is the event's tenant accepted here? */
  checkTenant(event: ValidEvent): void {
    if (!this.tenants) return;
    const tenant = (event.event as { tenant_id?: number | null }).tenant_id;
    if (tenant === undefined || tenant === null || !this.tenants.has(String(tenant))) {
      throw new CallstreamError('RCV_TENANT_FORBIDDEN', `tenant_id ${tenant ?? '(none)'} is not accepted here.`);
    }
  }
}

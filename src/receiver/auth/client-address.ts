import { BlockList, isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { CallstreamError } from '../../errors.js';

/**
 * The client's address. With N trusted proxies in front, the Nth entry from the right of
 * X-Forwarded-For is the one the outermost trusted proxy saw; entries left of it are
 * whatever the client claimed and are never trusted.
 */
export function clientAddress(req: IncomingMessage, trustedProxyHops: number): string | undefined {
  const socketAddress = req.socket.remoteAddress?.replace(/^::ffff:/, '');
  if (trustedProxyHops === 0) return socketAddress;
  const header = req.headers['x-forwarded-for'];
  const entries = (Array.isArray(header) ? header.join(',') : header ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const candidate = entries[entries.length - trustedProxyHops];
  return candidate ? candidate.replace(/^::ffff:/, '') : socketAddress;
}

/** Parses CIDR blocks once, at start-up. */
export function buildAllowlist(cidrs: string[]): BlockList {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [address, prefix] = cidr.split('/');
    const family = isIP(address);
    if (family === 0) throw new CallstreamError('CFG_INVALID', `CALLSTREAM_SOURCE_CIDRS: "${cidr}" is not an IP address or CIDR block`);
    const bits = prefix === undefined ? (family === 4 ? 32 : 128) : Number(prefix);
    if (!Number.isInteger(bits) || bits < 0 || bits > (family === 4 ? 32 : 128)) throw new CallstreamError('CFG_INVALID', `CALLSTREAM_SOURCE_CIDRS: bad prefix in "${cidr}"`);
    list.addSubnet(address, bits, family === 4 ? 'ipv4' : 'ipv6');
  }
  return list;
}

export function isAllowed(list: BlockList, address: string | undefined): boolean {
  if (!address) return false;
  const family = isIP(address);
  return family !== 0 && list.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

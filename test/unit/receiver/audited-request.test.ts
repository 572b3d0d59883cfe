import { afterEach, describe, expect, it } from 'vitest';
import { exampleCallCompleted } from '../../support/fixtures.js';
import { startTestReceiver } from '../../support/receiver-harness.js';

/**
 * The machinery both flows share (src/receiver/audited-request.ts): every request is kept in the
 * audit topic with what was decided, the event goes beside it, the answer comes after the ack,
 * and the size contract holds before and after producing. Over HTTP with the in-memory publisher,
 * so each path is driven exactly; the real broker's side is test/integration/size-contract.test.ts.
 */

type Harness = Awaited<ReturnType<typeof startTestReceiver>>;
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const body = JSON.stringify(exampleCallCompleted());
async function post(text = body) {
  const res = await fetch(`${h!.url}/callaro/webhooks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: text });
  return { status: res.status, code: ((await res.json()) as { error?: { code: string } }).error?.code, requestId: res.headers.get('x-request-id') };
}

describe('the audited request', () => {
  it('publishes the audit record and the event in one request, keyed alike, and answers 202 after the ack', async () => {
    h = await startTestReceiver();
    const answer = await post();
    expect(answer.status).toBe(202);
    expect(h.publisher.messages.map((m) => [m.topic, m.key])).toEqual([
      [h.config.topicRaw, 'vs_12345'],
      [h.config.topicEvents, 'vs_12345'],
    ]);
    const [audit] = h.audit();
    expect(audit).toMatchObject({ request_id: answer.requestId, status: 202, error_code: null, event_key: 'vs_12345', truncated: false, flow: 'callaro', verified_by: null });
    expect((audit.body as Buffer).toString()).toBe(body);
    expect(h.events()[0]).toMatchObject({ request_id: answer.requestId, received_at: audit.received_at });
  });

  it('keeps a refused request in the audit topic, keyed by its request id, with the code it got', async () => {
    h = await startTestReceiver();
    const answer = await post('{"event":"call.completed"}');
    expect(answer).toMatchObject({ status: 422, code: 'RCV_SCHEMA_INVALID' });
    expect(h.publisher.messages.map((m) => [m.topic, m.key])).toEqual([[h.config.topicRaw, answer.requestId]]);
    expect(h.audit()[0]).toMatchObject({ status: 422, error_code: 'RCV_SCHEMA_INVALID', event_key: null });
  });

  it('answers 503 with Retry-After when the broker does not acknowledge, and counts nothing as published', async () => {
    h = await startTestReceiver();
    h.publisher.mode = 'fail';
    const res = await fetch(`${h.url}/callaro/webhooks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(h.publisher.messages).toEqual([]);
  });

  it('logs a 503 under the request id the sender got, with its code and cause', async () => {
    h = await startTestReceiver();
    h.publisher.mode = 'fail';
    const answer = await post();
    expect(answer).toMatchObject({ status: 503, code: 'RCV_BROKER_UNAVAILABLE' });
    expect(answer.requestId).toMatch(/^[0-9a-f-]{36}$/);
    const line = h.logLines.find((l) => l.msg === 'answering 503: records not acknowledged');
    expect(line).toMatchObject({ level: 40, code: 'RCV_BROKER_UNAVAILABLE', requestId: answer.requestId, err: { message: 'broker down' } });
  });

  it('answers an unexpected fault 503 RCV_INTERNAL_ERROR, not as the broker\'s, logged under the request id with its cause', async () => {
    h = await startTestReceiver();
    h.ctx.clock.stamp = () => {
      throw new TypeError('clock broke');
    };
    const answer = await post();
    expect(answer).toMatchObject({ status: 503, code: 'RCV_INTERNAL_ERROR' });
    expect(h.publisher.messages).toEqual([]);
    const line = h.logLines.find((l) => l.msg === 'request failed');
    expect(line).toMatchObject({ level: 50, code: 'RCV_INTERNAL_ERROR', requestId: answer.requestId, err: { type: 'TypeError', message: 'clock broke' } });
    expect(await h.metrics.registry.getSingleMetricAsString('callstream_requests_rejected_total')).toContain('code="RCV_INTERNAL_ERROR"} 1');
  });

  it('refuses an event record over its topic\'s limit with 413 before producing, keeping the whole body in the audit record', async () => {
    h = await startTestReceiver();
    h.publisher.recordLimits.set(h.config.topicEvents, 300); // the event record holds the 472-byte body and more
    const answer = await post();
    expect(answer).toMatchObject({ status: 413, code: 'RCV_RECORD_TOO_LARGE' });
    expect(h.events()).toEqual([]);
    expect(h.audit()[0]).toMatchObject({ status: 413, error_code: 'RCV_RECORD_TOO_LARGE', truncated: false });
    expect((h.audit()[0].body as Buffer).toString()).toBe(body);
  });

  it('sends the audit record alone again, saying 413, when the broker finds the event too large after all', async () => {
    h = await startTestReceiver();
    h.publisher.brokerLimits.set(h.config.topicEvents, 300);
    const answer = await post();
    expect(answer).toMatchObject({ status: 413, code: 'RCV_RECORD_TOO_LARGE' });
    expect(h.publisher.messages.map((m) => m.topic)).toEqual([h.config.topicRaw]);
    expect(h.audit()[0]).toMatchObject({ status: 413, error_code: 'RCV_RECORD_TOO_LARGE' });
  });

  it('keeps a prefix of the body, marked truncated, when the audit topic itself takes less than the body', async () => {
    h = await startTestReceiver();
    h.publisher.recordLimits.set(h.config.topicRaw, 600); // the audit record: the body, the headers, the ids
    expect((await post()).status).toBe(202);
    const [audit] = h.audit();
    expect(audit.truncated).toBe(true);
    expect(body.startsWith((audit.body as Buffer).toString())).toBe(true);
    expect((audit.body as Buffer).length).toBeLessThan(Buffer.byteLength(body));
    expect(h.publisher.messages.every((m) => h!.publisher.fits(m))).toBe(true);
  });
});

// The rows the history bench writes (bench/load/history.js and its empty baseline,
// bench/load/history-empty.js): deliveries of the bench's call.completed payload, every tenth a
// redelivery, as the sink would hand them to the warehouse.
import { callaroRow } from '../../dist/sink/callaro-rows.js';
import { requestRow } from '../../dist/sink/request-rows.js';
import { CALL_EVENTS, REQUESTS } from '../../dist/warehouse/tables.js';
import { eventRecordAt } from './payload.js';

/** The call_events and requests rows of deliveries `from` .. `from + n - 1` of run `run`. */
export function deliveryRows(run, from, n) {
  const events = [];
  const audit = [];
  const now = Date.now();
  for (let delivery = from; delivery < from + n; delivery++) {
    const record = eventRecordAt(run, delivery, now);
    const position = { partition: delivery % 6, offset: Math.floor(delivery / 6) };
    events.push(callaroRow(record, position, now).row);
    const raw = { request_id: record.request_id, received_at: now, flow: 'callaro', method: 'POST', path: '/callaro/webhooks', body: { length: 2_600 }, truncated: false, status: 202, error_code: null, event_key: record.call_id, verified_by: null };
    audit.push(requestRow(raw, position, now).row);
  }
  return { events, audit };
}

/**
 * One flush as the sink writes it: the call_events rows, then the requests rows of the same
 * deliveries. The call_events rows inserted, the requests rows written, and the time in ms of the
 * whole flush and of its call_events part.
 */
export async function writeFlush(warehouse, { events, audit }) {
  const began = performance.now();
  const inserted = await warehouse.upsert(CALL_EVENTS, events);
  const eventsMs = performance.now() - began;
  const requests = await warehouse.upsert(REQUESTS, audit);
  return { inserted, requests, ms: performance.now() - began, eventsMs };
}

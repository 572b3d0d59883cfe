// Realistic call.completed webhooks for the benchmarks: 2-3 KB each, many distinct calls,
// and every tenth delivery a redelivery (the same bytes again) of a recent call, as
// Callaro's at-least-once delivery produces. Deterministic: the same (run, position)
// always gives the same body, so every process of a run agrees on what was sent.

const WORDS = (
  'customer asked about pricing for the enterprise plan and wanted to know whether the demo could ' +
  'be moved to next week because the team is travelling agent confirmed the slot and sent a calendar ' +
  'invite with the meeting link budget approved by finance decision expected after the quarterly review ' +
  'competitor mentioned twice follow up with case studies from logistics and retail integration with ' +
  'existing crm is a must have security questionnaire pending legal review of the data processing terms'
).split(' ');

const INTENTS = ['book_demo', 'pricing', 'support', 'renewal', 'churn_risk', 'callback'];
const OUTCOMES = ['meeting_booked', 'callback_scheduled', 'not_interested', 'voicemail', 'qualified'];
const REASONS = ['customer_hangup', 'agent_hangup', 'transfer', 'silence_timeout'];
const LANGS = ['en-IN', 'en-US', 'hi-IN', 'en-GB'];

/** mulberry32: a tiny, fast, seedable PRNG. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function sentence(r, words) {
  const out = [];
  for (let i = 0; i < words; i++) out.push(WORDS[Math.floor(r() * WORDS.length)]);
  return out.join(' ');
}

const pick = (r, list) => list[Math.floor(r() * list.length)];

/**
 * The parts of call `n`'s body that vary with the call but not with the delivery. Built
 * from a few hundred pre-rendered variants so that generating a body costs little (the
 * load generator shares the machine with the system under test).
 */
const VARIANTS = 512;
let variants;
function variant(i) {
  variants ??= Array.from({ length: VARIANTS }, (_, v) => {
    const r = rng(v + 1);
    const extracted = {
      intent: pick(r, INTENTS),
      outcome: pick(r, OUTCOMES),
      budget_usd: Math.round(r() * 50_000),
      company_size: pick(r, ['1-10', '11-50', '51-200', '201-1000', '1000+']),
      decision_maker: r() < 0.5,
      follow_up_date: `2026-12-${String(1 + Math.floor(r() * 28)).padStart(2, '0')}`,
      objections: [pick(r, ['price', 'timing', 'features', 'security']), pick(r, ['contract', 'integration', 'support'])],
      sentiment: pick(r, ['positive', 'neutral', 'negative']),
      summary: sentence(r, 60 + Math.floor(r() * 40)),
    };
    const runtime = {
      customer_name: pick(r, ['Asha', 'Ravi', 'Meera', 'John', 'Li', 'Fatima']),
      account_id: `acct_${Math.floor(r() * 1e6)}`,
      campaign_id: `cmp_${Math.floor(r() * 100)}`,
      language: pick(r, LANGS),
      timezone: pick(r, ['Asia/Kolkata', 'America/New_York', 'Europe/London']),
      attempt: 1 + Math.floor(r() * 3),
    };
    const tools = Array.from({ length: 2 + Math.floor(r() * 3) }, (_, k) => ({
      name: pick(r, ['crm.lookup', 'calendar.book', 'calendar.availability', 'sms.send', 'crm.update']),
      arguments: { slot: `2026-12-0${1 + k}T10:00:00Z`, note: sentence(r, 8) },
      result: { ok: r() < 0.9, id: `res_${Math.floor(r() * 1e9)}` },
      latency_ms: Math.floor(r() * 900),
    }));
    return {
      extracted_data: JSON.stringify(extracted),
      runtime_vars: JSON.stringify(runtime),
      tool_calls: JSON.stringify(tools),
      tail:
        `"duration_seconds":${30 + Math.floor(r() * 600)},"status":"completed","end_reason":"${pick(r, REASONS)}",` +
        `"recording_url":"https://recordings.callaro.example/${Math.floor(r() * 1e12).toString(36)}.mp3",` +
        `"transcript_summary":${JSON.stringify(sentence(r, 45 + Math.floor(r() * 40)))},` +
        `"metrics":{"latency_p50_ms":${Math.floor(r() * 800)},"interruptions":${Math.floor(r() * 6)},"words_agent":${Math.floor(r() * 900)},"words_customer":${Math.floor(r() * 900)}}`,
    };
  });
  return variants[i % VARIANTS];
}

/**
 * The call delivered at position `i` of a run: a new call, or (every tenth delivery) a
 * redelivery of the call three distinct calls back.
 */
export function callAt(i) {
  const distinct = i - Math.floor((i + 1) / 10);
  const duplicate = i % 10 === 9;
  return { call: duplicate ? distinct - 3 : distinct, duplicate };
}

/** When call 0 of a run took place; call n, n seconds later. */
export const BASE_TIME = Date.parse('2026-11-27T00:00:00Z');

/** The occurred_at of call `n` when call 0 took place at `baseTime`. */
export const callTime = (n, baseTime = BASE_TIME) => baseTime + n * 1000;

/**
 * Call `n` of run `run`: its id and the fields the sink stores (as the receiver would derive them).
 * `baseTime` dates call 0 (calls are a second apart): live traffic on top of a history starts
 * after the history's newest call, as it would in production.
 */
export function callCompleted(run, n, baseTime = BASE_TIME) {
  const v = variant(n * 7919);
  const callId = `vs_${run}_${n}`;
  const occurred = new Date(callTime(n, baseTime)).toISOString();
  const fields = {
    call_id: callId,
    voice_session_id: 1_000_000 + n,
    call_sid: `CA${(n * 2654435761 >>> 0).toString(16).padStart(8, '0')}${String(n).padStart(24, '0')}`,
    tenant_id: 40 + (n % 7),
    agent_id: 1000 + (n % 50),
    direction: n % 2 === 0 ? 'outbound' : 'inbound',
    from_e164: '+14155550100',
    to_e164: `+9199${String(n % 1e8).padStart(8, '0')}`,
    occurred_at: occurred,
  };
  const body =
    `{"event":"call.completed","call_id":"${callId}","voice_session_id":${fields.voice_session_id},"call_sid":"${fields.call_sid}",` +
    `"tenant_id":${fields.tenant_id},"agent_id":${fields.agent_id},"direction":"${fields.direction}","from_e164":"${fields.from_e164}",` +
    `"to_e164":"${fields.to_e164}","occurred_at":"${occurred}","extracted_data":${v.extracted_data},"runtime_vars":${v.runtime_vars},` +
    `"tool_calls":${v.tool_calls},${v.tail}}`;
  return { callId, body, fields, variant: v };
}

/** The body delivered at position `i` of run `run` (calls dated from `baseTime`, see callCompleted). */
export function bodyAt(run, i, baseTime = BASE_TIME) {
  const { call, duplicate } = callAt(i);
  const c = callCompleted(run, call, baseTime);
  return { ...c, duplicate };
}

/**
 * The CallaroEvent record the receiver would publish for position `i` (the sink's input),
 * built without parsing the JSON again.
 */
export function eventRecordAt(run, i, receivedAt) {
  const { callId, body, fields, variant: v } = bodyAt(run, i);
  return {
    request_id: `bench-${run}-${i}`,
    received_at: receivedAt,
    event: 'call.completed',
    family: 'call',
    entity_id: callId,
    call_id: callId,
    voice_session_id: fields.voice_session_id,
    call_sid: fields.call_sid,
    tenant_id: fields.tenant_id,
    agent_id: fields.agent_id,
    campaign_id: null,
    number_e164: null,
    direction: fields.direction,
    from_e164: fields.from_e164,
    to_e164: fields.to_e164,
    occurred_at: Date.parse(fields.occurred_at),
    extracted_data: v.extracted_data,
    runtime_vars: v.runtime_vars,
    tool_calls: v.tool_calls,
    payload: body,
  };
}

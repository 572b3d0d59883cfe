import { describe, expect, it } from 'vitest';
import { exhaustedResource } from '../../../../src/errors.js';
import { classifyBigQueryError } from '../../../../src/warehouse/bigquery/classify-error.js';

const apiError = (code: number | string, reason?: string, message = 'boom') => Object.assign(new Error(message), { code, errors: reason ? [{ reason, message }] : [] });

describe('classifyBigQueryError', () => {
  it.each([
    [apiError(429, 'rateLimitExceeded'), 'SINK_WAREHOUSE_UNAVAILABLE'],
    [apiError(500, 'backendError'), 'SINK_WAREHOUSE_UNAVAILABLE'],
    [apiError(503), 'SINK_WAREHOUSE_UNAVAILABLE'],
    [apiError(400, 'jobInternalError'), 'SINK_WAREHOUSE_UNAVAILABLE'],
    [apiError(400, 'invalidQuery', 'Could not serialize access to table p.d.t due to concurrent update'), 'SINK_WAREHOUSE_UNAVAILABLE'],
    [apiError('ECONNREFUSED', undefined, 'connect ECONNREFUSED 127.0.0.1:9050'), 'SINK_WAREHOUSE_UNAVAILABLE'],
    [apiError(403, 'accessDenied'), 'SINK_WAREHOUSE_UNAVAILABLE'],
    [apiError(400, 'invalidQuery', 'Invalid timestamp'), 'SINK_ROW_REJECTED'],
    [apiError(400, 'invalid'), 'SINK_ROW_REJECTED'],
    [apiError(400, 'invalidQuery', 'Invalid input to PARSE_JSON: Unpaired surrogate at 7'), 'SINK_ROW_REJECTED'],
    // The table's faults, whatever the rows: wait for an operator, dead-letter nothing.
    [apiError(400, 'invalidQuery', "Cannot query over table 'p.d.call_events' without a filter over column(s) 'event_time' that can be used for partition elimination"), 'SINK_WAREHOUSE_UNAVAILABLE'],
    [apiError(400, 'bytesBilledLimitExceeded', 'Query exceeded limit for bytes billed: 10485760. 20971520 or higher required.'), 'SINK_WAREHOUSE_UNAVAILABLE'],
    [apiError(400, 'invalidQuery', 'Unrecognized name: tool_calls at [5:3]'), 'SINK_WAREHOUSE_UNAVAILABLE'],
    [apiError(404, 'notFound', 'Not found: Table p:d.call_events'), 'SINK_WAREHOUSE_UNAVAILABLE'],
  ])('%s -> %s', (err, code) => {
    const mapped = classifyBigQueryError(err, 'MERGE');
    expect(mapped.code).toBe(code);
    expect(mapped.cause).toBe(err);
  });

  it('resourcesExceeded (a MERGE too big for its slots) is SINK_WAREHOUSE_EXHAUSTED of memory: the sink writes smaller pieces', () => {
    const err = apiError(400, 'resourcesExceeded', 'Resources exceeded during query execution: The query could not be executed in the allotted memory. Peak usage: 160% of limit.');
    const mapped = classifyBigQueryError(err, 'MERGE');
    expect(mapped.code).toBe('SINK_WAREHOUSE_EXHAUSTED');
    expect(exhaustedResource(mapped)).toBe('memory');
    expect(exhaustedResource(classifyBigQueryError(apiError(400, 'invalidQuery', 'Resources exceeded during query execution: too many subqueries'), 'MERGE'))).toBe('memory');
  });
});

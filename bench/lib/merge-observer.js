/**
 * Watches a BigQuery client's MERGE jobs (the benches' view of the write path): every
 * createQueryJob whose query is a MERGE calls `created(query, table, startedAt)` once the job
 * exists (its HTTP request sent, so an interceptor of that request has seen it; `startedAt` is
 * performance.now() before it was asked for) and `finished(info)` with
 * what `created` returned once the job's results were read, whether they came or not. Other
 * queries, and every argument (a callback too), go through untouched.
 */
export function observeMerges(client, { created, finished }) {
  const createQueryJob = client.createQueryJob.bind(client);
  client.createQueryJob = async (query, ...rest) => {
    const sql = query?.query ?? '';
    if (!/^\s*MERGE/i.test(sql)) return createQueryJob(query, ...rest);
    const table = /MERGE\s+`[^`]*\.([^`.]+)`/i.exec(sql)?.[1] ?? '?';
    const startedAt = performance.now();
    const result = await createQueryJob(query, ...rest);
    const info = created(query, table, startedAt);
    const [job] = result;
    const getQueryResults = job.getQueryResults.bind(job);
    job.getQueryResults = async (...args) => {
      try {
        return await getQueryResults(...args);
      } finally {
        finished(info);
      }
    };
    return result;
  };
}

// The history section's chart: upsert time, bulk rate and RSS against the rows stored, the
// whole-table MERGE (the design before) next to the key filter (the design now).
import { lineChart } from './chart.js';

const SERIES = [
  ['merge', 'whole-table MERGE (before)'],
  ['filtered', 'key filter + recent rows (now)'],
];

/** reports: { filtered, merge }, each a bench/load/history.js report. */
export function historyChart(reports) {
  const series = (pick) =>
    SERIES.filter(([key]) => reports[key]).map(([key, name]) => ({ name, points: reports[key].steps.map((s) => [s.stored, pick(s)]) }));
  return lineChart({
    title: 'callstream: the DuckDB write path against the rows already stored',
    xLabel: 'call_events rows stored',
    panels: [
      { title: '100-row upsert, p50 (ms)', yLabel: 'ms', series: series((s) => s.upsert100P50Ms) },
      { title: 'Bulk write rate (call_events rows/s)', yLabel: 'rows/s', series: series((s) => s.rowsPerSec) },
      { title: 'Peak RSS of the writer (MB)', yLabel: 'MB', series: series((s) => s.rssMB) },
    ],
  });
}

export { countGaps, formatGaps, listGaps, type Gap, type GapQuery, type GapsSource } from './gaps.js';
export { GapMonitor, warehouseGapsSource } from './gap-monitor.js';

export { planReplay, applyReplay, assertGroupInactive, parseOffsets, formatPlan, type ReplayPlan, type ReplayTarget, type PartitionPlan } from './plan.js';
export { replayRaw, REPLAYABLE_CODES, type RawReplayOptions, type RawReplayReport } from './raw-replay.js';

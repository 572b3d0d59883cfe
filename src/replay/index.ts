export { planReplay, applyReplay, assertGroupInactive, parseOffsets, formatPlan, type ReplayPlan, type ReplayTarget, type PartitionPlan } from './plan.js';
export { replayRaw, REPLAYABLE_CODES, type RawReplayOptions, type RawReplayProgress, type RawReplayReport, type ReplaySubject } from './raw-replay.js';
export { followReplay, type ReplayCatchUp } from './follow.js';
export { redrive, REDRIVEN_HEADER, type RedriveOptions, type RedriveReport, type RedriveRefusal } from './redrive.js';

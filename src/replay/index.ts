export { planReplay, applyReplay, assertGroupInactive, parseOffsets, formatPlan, type ReplayPlan, type ReplayTarget, type PartitionPlan } from './plan.js';

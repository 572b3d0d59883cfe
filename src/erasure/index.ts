export { E164_SUBJECT, ID_SUBJECT, TENANT_SUBJECT, callIdsOf, erasureKey, erasureSlots, mergeErasures, tableMatch, type Erasure, type ErasureScope, type ErasureSlot, type ErasureSlotsByTable, type ErasureSubject, type ScopeList, type SubjectKind } from './erasure.js';
export { ErasureSet, LEARNED_CALLS_LIMIT, type ErasureSetOptions, type ErasureSetStats } from './erasure-set.js';
export { ErasureFollower, erasureRecord, parseErasure, readRecordedErasure } from './erasure-topic.js';
export { erase, formatReceipt, type EraseDeps, type EraseReceipt } from './erase.js';
export { parseEraseRequest, type EraseRequest } from './erase-request.js';

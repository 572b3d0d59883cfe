export { E164_SUBJECT, ID_SUBJECT, TENANT_SUBJECT, erasureKey, tableMatch, type Erasure, type ErasureScope, type ErasureSubject, type SubjectKind } from './erasure.js';
export { ErasureSet } from './erasure-set.js';
export { ErasureFollower, erasureRecord, parseErasure } from './erasure-topic.js';
export { erase, formatReceipt, type EraseDeps, type EraseReceipt } from './erase.js';

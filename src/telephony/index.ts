export {
  normalizeCallback,
  toCallbackRecord,
  fieldAt,
  parseProviderTime,
  type CallbackFields,
  type CallbackResult,
  type NormalizedCallback,
  type TelephonyCallbackRecord,
} from './telephony-callback.js';

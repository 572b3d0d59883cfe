import { fileURLToPath } from 'node:url';
import type { Flow } from '../config/index.js';

/** Full names of the record schemas in schemas/ that the code refers to. */
export const SCHEMA_NAMES = {
  callaroEvent: 'io.callstream.callaro.CallaroEvent',
  rawRequest: 'io.callstream.audit.RawRequest',
  telephonyCallback: 'io.callstream.telephony.TelephonyCallback',
} as const;

/** The schema of each flow's records on its events topic (its audit topic carries raw requests, rawRequest). */
export const FLOW_EVENT_SCHEMA: Readonly<Record<Flow, (typeof SCHEMA_NAMES)[keyof typeof SCHEMA_NAMES]>> = {
  callaro: SCHEMA_NAMES.callaroEvent,
  telephony: SCHEMA_NAMES.telephonyCallback,
};

/** The schemas/ folder of this package (works from src/ under vitest and from dist/). */
export function schemasDir(): string {
  return fileURLToPath(new URL('../../schemas/', import.meta.url));
}

import { fileURLToPath } from 'node:url';

/** Full names of the record schemas in schemas/ that the code refers to. */
export const SCHEMA_NAMES = {
  callaroEvent: 'io.callstream.callaro.CallaroEvent',
  rawRequest: 'io.callstream.audit.RawRequest',
  telephonyCallback: 'io.callstream.telephony.TelephonyCallback',
} as const;

/** The schemas/ folder of this package (works from src/ under vitest and from dist/). */
export function schemasDir(): string {
  return fileURLToPath(new URL('../../schemas/', import.meta.url));
}

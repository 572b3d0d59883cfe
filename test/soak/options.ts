/**
 * What a soak run is told: which seeds, how big, which nasty input classes are on, and
 * whether the three-node cluster schedules may run. Read from the environment
 * (test/soak/cli.mjs turns `npm run soak -- --seeds N ...` into these variables).
 */

/** Nasty input classes; each can be switched off to validate the harness without it. */
export const NASTY_CLASSES = ['surrogate', 'nonfinite', 'bigint', 'near-limit', 'oversize', 'malformed'] as const;
export type NastyClass = (typeof NASTY_CLASSES)[number];

/**
 * What a schedule runs against:
 * - process: spawned receiver and sink on the shared broker; sink SIGKILL, graceful restarts, offset rewind.
 * - warehouse: the sink in-process behind a switchable warehouse; outages, restarts, rewind.
 * - broker: a dedicated broker that is stopped and started under load; plus sink SIGKILL, rewind.
 * - cluster: three KRaft nodes (test/support/kafka-cluster.ts); the leader of a partition being
 *   written is SIGKILLed. Seeds pick it only with SOAK_CLUSTER=1 (three JVMs on this machine's
 *   two cores); SOAK_KIND=cluster forces it for a seed.
 * - operations: operators' actions on a spawned receiver and sink writing DuckDB (issue 23):
 *   `callstream erase` (a phone, a call, a tenant; sometimes twice), `replay` and `replay-raw`
 *   over a range across a UTC midnight (the receiver runs under libfaketime, just before one),
 *   a receiver restarted on a clock stepped back, a second sink of another warehouse joining the
 *   group, topic settings made unsafe under the pipeline and restored.
 * - operations-staged: the same against a sink writing BigQuery in staged mode (the emulator).
 * The operations kinds are not in the seeds' rotation: SOAK_KIND names them (a comma list
 * rotates among the kinds listed, e.g. SOAK_KIND=operations,operations-staged).
 */
export const SCHEDULE_KINDS = ['process', 'warehouse', 'broker', 'cluster', 'operations', 'operations-staged'] as const;
export type ScheduleKind = (typeof SCHEDULE_KINDS)[number];
export const OPERATIONS_KINDS: readonly ScheduleKind[] = ['operations', 'operations-staged'];
export const isOperations = (kind: ScheduleKind) => OPERATIONS_KINDS.includes(kind);
export type Size = 'small' | 'large';

export interface SoakOptions {
  seeds: number[];
  size: Size;
  nasty: ReadonlySet<NastyClass>;
  /** Seeds pick cluster schedules only when asked to (SOAK_CLUSTER=1). */
  cluster: boolean;
  /** Force one kind instead of deriving it from the seed. */
  kind?: ScheduleKind;
  /** Rotate among these kinds instead (SOAK_KIND=a,b). */
  kinds?: ScheduleKind[];
}

function list(value: string | undefined): string[] {
  return (value ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}

export function parseNasty(value: string | undefined): Set<NastyClass> {
  if (value === undefined || value === '' || value === 'all') return new Set(NASTY_CLASSES);
  if (value === 'none') return new Set();
  const chosen = list(value);
  const unknown = chosen.filter((c) => !(NASTY_CLASSES as readonly string[]).includes(c));
  if (unknown.length > 0) throw new Error(`SOAK_NASTY: unknown class ${unknown.join(', ')}; known: ${NASTY_CLASSES.join(', ')}, all, none`);
  return new Set(chosen as NastyClass[]);
}

/** Options from SOAK_* variables; `defaultSeeds` when none are named. */
export function soakOptionsFromEnv(env: NodeJS.ProcessEnv, defaultSeeds: number[]): SoakOptions {
  const seeds = env.SOAK_SEEDS ? list(env.SOAK_SEEDS).map(Number) : defaultSeeds;
  if (seeds.some((s) => !Number.isSafeInteger(s) || s < 0)) throw new Error(`SOAK_SEEDS: expected non-negative integers, got ${env.SOAK_SEEDS}`);
  const size = (env.SOAK_SIZE ?? 'small') as Size;
  if (size !== 'small' && size !== 'large') throw new Error(`SOAK_SIZE: expected small or large, got ${env.SOAK_SIZE}`);
  const named = list(env.SOAK_KIND) as ScheduleKind[];
  const unknown = named.filter((k) => !SCHEDULE_KINDS.includes(k));
  if (unknown.length > 0) throw new Error(`SOAK_KIND: expected one or more (comma-separated) of ${SCHEDULE_KINDS.join(', ')}, got ${env.SOAK_KIND}`);
  const kinds = named.length > 1 ? { kinds: named } : { kind: named[0] };
  return { seeds, size, nasty: parseNasty(env.SOAK_NASTY), cluster: /^(1|true|yes)$/i.test(env.SOAK_CLUSTER ?? ''), ...kinds };
}

/** The kind a seed runs: forced, else the seed picks among the enabled kinds. */
export function kindFor(seed: number, options: Pick<SoakOptions, 'cluster' | 'kind' | 'kinds'>): ScheduleKind {
  if (options.kind) return options.kind;
  if (options.kinds && options.kinds.length > 0) return options.kinds[seed % options.kinds.length];
  const kinds = SCHEDULE_KINDS.filter((k) => (k !== 'cluster' || options.cluster) && !isOperations(k));
  return kinds[seed % kinds.length];
}

/** The one command that reruns exactly this seed. */
export function reproduceCommand(seed: number, options: Pick<SoakOptions, 'size' | 'nasty' | 'cluster' | 'kind' | 'kinds'>): string {
  const parts = ['npm run soak --', `--seed ${seed}`];
  if (options.size !== 'small') parts.push(`--size ${options.size}`);
  if (options.nasty.size !== NASTY_CLASSES.length) parts.push(`--nasty ${options.nasty.size === 0 ? 'none' : [...options.nasty].join(',')}`);
  if (options.cluster) parts.push('--cluster');
  if (options.kind || options.kinds) parts.push(`--kind ${kindFor(seed, options)}`);
  return parts.join(' ');
}

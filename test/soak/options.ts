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
 */
export const SCHEDULE_KINDS = ['process', 'warehouse', 'broker', 'cluster'] as const;
export type ScheduleKind = (typeof SCHEDULE_KINDS)[number];
export type Size = 'small' | 'large';

export interface SoakOptions {
  seeds: number[];
  size: Size;
  nasty: ReadonlySet<NastyClass>;
  /** Seeds pick cluster schedules only when asked to (SOAK_CLUSTER=1). */
  cluster: boolean;
  /** Force one kind instead of deriving it from the seed. */
  kind?: ScheduleKind;
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
  const kind = env.SOAK_KIND as ScheduleKind | undefined;
  if (kind && !SCHEDULE_KINDS.includes(kind)) throw new Error(`SOAK_KIND: expected one of ${SCHEDULE_KINDS.join(', ')}, got ${kind}`);
  return { seeds, size, nasty: parseNasty(env.SOAK_NASTY), cluster: /^(1|true|yes)$/i.test(env.SOAK_CLUSTER ?? ''), kind: kind || undefined };
}

/** The kind a seed runs: forced, else the seed picks among the enabled kinds. */
export function kindFor(seed: number, options: Pick<SoakOptions, 'cluster' | 'kind'>): ScheduleKind {
  if (options.kind) return options.kind;
  const kinds = SCHEDULE_KINDS.filter((k) => k !== 'cluster' || options.cluster);
  return kinds[seed % kinds.length];
}

/** The one command that reruns exactly this seed. */
export function reproduceCommand(seed: number, options: Pick<SoakOptions, 'size' | 'nasty' | 'cluster' | 'kind'>): string {
  const parts = ['npm run soak --', `--seed ${seed}`];
  if (options.size !== 'small') parts.push(`--size ${options.size}`);
  if (options.nasty.size !== NASTY_CLASSES.length) parts.push(`--nasty ${options.nasty.size === 0 ? 'none' : [...options.nasty].join(',')}`);
  if (options.cluster) parts.push('--cluster');
  if (options.kind) parts.push(`--kind ${options.kind}`);
  return parts.join(' ');
}

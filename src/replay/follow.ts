import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin } from 'kafkajs';
import type { ReplayPlan } from './plan.js';

export interface ReplayCatchUp {
  /** Records of the plan the group has committed again. */
  reread: number;
  /** The plan's records to read again (totalReprocess). */
  total: number;
}

/**
 * After applyReplay: follows the group's committed offsets until, on every rewound partition,
 * the group has committed again up to where it was before the rewind (target + reprocess).
 * The sink does the reading; this only watches. Calls onProgress after each poll.
 */
export async function followReplay(
  admin: Admin,
  plan: ReplayPlan,
  onProgress: (progress: ReplayCatchUp) => void,
  options: { pollMs?: number; signal?: AbortSignal } = {},
): Promise<ReplayCatchUp> {
  const pollMs = options.pollMs ?? 1_000;
  const rewound = plan.partitions.filter((p) => p.reprocess > 0);
  for (;;) {
    const [offsets] = await admin.fetchOffsets({ groupId: plan.groupId, topics: [plan.topic] });
    const committed = new Map((offsets?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
    let reread = 0;
    let behind = false;
    for (const p of rewound) {
      const at = committed.get(p.partition) ?? -1n;
      const progressed = at < 0n ? 0 : Number(at - BigInt(p.target));
      const n = Math.min(Math.max(progressed, 0), p.reprocess);
      if (n < p.reprocess) behind = true;
      reread += n;
    }
    const progress = { reread, total: plan.totalReprocess };
    onProgress(progress);
    if (!behind) return progress;
    await sleep(pollMs, undefined, { signal: options.signal });
  }
}

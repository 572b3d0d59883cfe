import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A disk of a few megabytes: a tmpfs mounted on a fresh directory, so a DuckDB file on it runs
 * out of space for real (ENOSPC from the kernel, as on a full volume), and a filler file that
 * takes all but a little of it and can be deleted to free the space again. Mounting needs root
 * (or CAP_SYS_ADMIN); without it the test fails, naming why, never skips.
 */
export class SmallDisk {
  private constructor(readonly dir: string) {}

  static mount(sizeMb: number): SmallDisk {
    const dir = mkdtempSync(join(tmpdir(), 'callstream-small-disk-'));
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m,mode=0700`, 'tmpfs', dir], { stdio: 'pipe' });
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      const why = (err as { stderr?: Buffer }).stderr?.toString().trim() || (err as Error).message;
      throw new Error(`Could not mount a ${sizeMb} MB tmpfs for the disk-full test (needs root or CAP_SYS_ADMIN): ${why}`);
    }
    return new SmallDisk(dir);
  }

  /** Bytes still free. */
  free(): number {
    const s = statfsSync(this.dir);
    return Number(s.bavail) * Number(s.bsize);
  }

  /** Fills the disk up to `leaveBytes` free (a file named filler). */
  fill(leaveBytes: number): void {
    writeFileSync(join(this.dir, 'filler'), Buffer.alloc(Math.max(0, this.free() - leaveBytes)));
  }

  /** Deletes the filler: the operator freeing space. */
  unfill(): void {
    rmSync(join(this.dir, 'filler'), { force: true });
  }

  unmount(): void {
    execFileSync('umount', ['-l', this.dir], { stdio: 'pipe' });
    rmSync(this.dir, { recursive: true, force: true });
  }
}

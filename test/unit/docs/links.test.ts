import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The README is a newcomer's page and the rest lives in docs/ by audience: every relative link
 * of README.md and docs/*.md must resolve, to a file that exists and, for a #fragment, to a
 * heading of that file (GitHub's anchor rule).
 */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const PAGES = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

/** GitHub's heading anchor: lower case, punctuation dropped (hyphens and underscores kept), spaces to hyphens. */
export function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** Lines outside fenced code blocks. */
function prose(text: string): string[] {
  let fenced = false;
  return text.split('\n').filter((line) => {
    if (line.startsWith('```')) fenced = !fenced;
    return !fenced && !line.startsWith('```');
  });
}

function anchors(file: string): Set<string> {
  return new Set(prose(readFileSync(join(ROOT, file), 'utf8')).flatMap((line) => /^#{1,6} (.+)$/.exec(line)?.[1] ?? []).map(anchorOf));
}

function links(file: string): Array<{ line: number; target: string }> {
  const out: Array<{ line: number; target: string }> = [];
  prose(readFileSync(join(ROOT, file), 'utf8')).forEach((line, i) => {
    for (const m of line.matchAll(/\[[^\]]*\]\(([^)\s]+)\)/g)) out.push({ line: i + 1, target: m[1] });
  });
  return out;
}

describe('the README and docs/', () => {
  it('keeps the README to what a newcomer needs (the rest is in docs/)', () => {
    expect(readFileSync(join(ROOT, 'README.md'), 'utf8').split('\n').length).toBeLessThanOrEqual(320);
  });

  it.each(PAGES)('%s: every relative link resolves, to a file and a heading', (page) => {
    const problems: string[] = [];
    for (const { line, target } of links(page)) {
      if (/^[a-z][a-z+.-]*:/i.test(target)) continue; // https:, mailto:
      const [path, fragment] = target.split('#');
      const file = path ? relative(ROOT, join(ROOT, dirname(page), decodeURIComponent(path))) : page;
      if (!existsSync(join(ROOT, file))) {
        problems.push(`${page} (line ${line}): ${target}: no file ${file}`);
        continue;
      }
      if (fragment && file.endsWith('.md') && !anchors(file).has(fragment)) problems.push(`${page} (line ${line}): ${target}: ${file} has no heading #${fragment}`);
    }
    expect(problems).toEqual([]);
  });

  it('computes anchors as GitHub does', () => {
    expect(anchorOf('Provider callbacks (the second flow)')).toBe('provider-callbacks-the-second-flow');
    expect(anchorOf("A call's whole story: `callstream trace`")).toBe('a-calls-whole-story-callstream-trace');
    expect(anchorOf('Replay (offset rewind)')).toBe('replay-offset-rewind');
  });
});

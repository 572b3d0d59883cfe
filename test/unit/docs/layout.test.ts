import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/** The README's layout section names every folder of the repository and every entry of src/ (and names nothing that is gone). */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const layout = (() => {
  const start = readme.indexOf('## Layout');
  const block = readme.slice(readme.indexOf('```', start) + 3);
  return block.slice(0, block.indexOf('```'));
})();
/** What the block names at the start of a line (its first path segment): `src/`, `  config/`, `  errors.ts`, `    auth/`, `analytics/` of `analytics/dbt/`. */
const named = new Set(layout.split('\n').map((line) => /^\s*([\w.-]+\/?)/.exec(line)?.[1]).filter((n): n is string => !!n));

function trackedTopFolders(): string[] {
  const files = execFileSync('git', ['ls-files'], { cwd: ROOT, encoding: 'utf8' }).split('\n');
  return [...new Set(files.filter((f) => f.includes('/') && !f.startsWith('.')).map((f) => `${f.split('/')[0]}/`))].sort();
}

describe('README layout section', () => {
  it('names every folder the repository tracks', () => {
    expect(trackedTopFolders().filter((folder) => !named.has(folder))).toEqual([]);
  });

  it('names every folder and top-level file of src/, and every folder of src/receiver', () => {
    const src = readdirSync(join(ROOT, 'src'), { withFileTypes: true }).map((e) => (e.isDirectory() ? `${e.name}/` : e.name));
    expect(src.filter((entry) => !named.has(entry))).toEqual([]);
    expect(named.has('auth/')).toBe(true);
  });

  it('names no folder of src/ that is gone', () => {
    const src = new Set(readdirSync(join(ROOT, 'src')).map((n) => `${n}/`));
    // src/'s children are the lines indented by two spaces.
    const folders = [...layout.matchAll(/^ {2}([a-z]+\/)/gm)].map((m) => m[1]);
    expect(folders.length).toBeGreaterThan(10);
    expect(folders.filter((f) => !src.has(f))).toEqual([]);
  });
});

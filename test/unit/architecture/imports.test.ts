import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * The house rules of src/ (issue 26): no import circle between files, and no arrow up between
 * folders. Each folder sits on a layer and imports only from lower layers, so the data flow
 * reads bottom up: config, the events and their codec, Kafka and the warehouses, the event
 * families' descriptors (which name both a schema and a table), then the receiver, erasure, the sink, the operators' tools, the pipeline that runs them, the CLI.
 * A new folder has to be placed here before anything may import it.
 */
const LAYERS: Record<string, number> = {
  '(root)': 0, // errors.ts, logger.ts
  config: 1,
  tracing: 2, // OpenTelemetry set-up and helpers, used by the receiver, the sink and trace
  events: 2,
  codec: 2,
  metrics: 2,
  telephony: 3,
  kafka: 3,
  warehouse: 3,
  families: 4, // one descriptor per Callaro event family: names its zod schema (events) and its table (warehouse)
  privacy: 5,
  gaps: 5,
  receiver: 5,
  erasure: 6,
  sink: 7,
  'query-socket': 7,
  status: 8,
  trace: 8,
  replay: 8,
  pipeline: 9,
  cli: 10,
};

const SRC = resolve(import.meta.dirname, '../../../src');

type Graph = Map<string, string[]>;

/** Every .ts file of src/ and the src/ files it imports (static, type-only and dynamic imports alike). */
function importGraph(root: string): Graph {
  const graph: Graph = new Map();
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) {
        const { importedFiles } = ts.preProcessFile(readFileSync(path, 'utf8'), true, true);
        const targets = importedFiles
          .map((f) => f.fileName)
          .filter((spec) => spec.startsWith('.'))
          .map((spec) => relative(root, resolve(dirname(path), spec.replace(/\.js$/, '.ts'))));
        graph.set(relative(root, path), targets);
      }
    }
  };
  walk(root);
  return graph;
}

const folderOf = (file: string): string => (file.includes('/') ? file.split('/')[0] : '(root)');

/** Imports from a folder into one on the same or a higher layer ("a -> b: file"), and folders no layer names. */
export function upwardImports(graph: Graph, layers: Record<string, number>): string[] {
  const problems: string[] = [];
  for (const [file, targets] of graph) {
    const from = folderOf(file);
    if (layers[from] === undefined) problems.push(`${from}: no layer (add it to LAYERS)`);
    for (const target of targets) {
      const to = folderOf(target);
      if (to === from || layers[from] === undefined || layers[to] === undefined) continue;
      if (layers[to] >= layers[from]) problems.push(`${from} -> ${to}: ${file} imports ${target}`);
    }
  }
  return [...new Set(problems)];
}

/** The import circles between files: the strongly connected components of more than one file (Tarjan). */
export function importCircles(graph: Graph): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const circles: string[][] = [];
  const visit = (file: string): void => {
    index.set(file, next);
    low.set(file, next++);
    stack.push(file);
    onStack.add(file);
    for (const target of graph.get(file) ?? []) {
      if (!index.has(target)) {
        visit(target);
        low.set(file, Math.min(low.get(file)!, low.get(target)!));
      } else if (onStack.has(target)) low.set(file, Math.min(low.get(file)!, index.get(target)!));
    }
    if (low.get(file) === index.get(file)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== file);
      if (component.length > 1 || (graph.get(file) ?? []).includes(file)) circles.push(component.sort());
    }
  };
  for (const file of graph.keys()) if (!index.has(file)) visit(file);
  return circles;
}

describe('src/ import structure', () => {
  const graph = importGraph(SRC);

  it('reads the imports of every file (the graph is not empty and names known files)', () => {
    expect(graph.size).toBeGreaterThan(100);
    expect(graph.get('pipeline/pipeline.ts')).toContain('sink/index.ts');
    expect(graph.get('cli/definitions/status.ts')).toContain('cli/commands/status.ts'); // a dynamic import() counts too
  });

  it('has no import circle between files', () => {
    expect(importCircles(graph)).toEqual([]);
  });

  it('has no import from a folder to one on its own or a higher layer, and every folder on a layer', () => {
    expect(upwardImports(graph, LAYERS)).toEqual([]);
  });

  it('the checks find what they look for', () => {
    const planted: Graph = new Map([
      ['sink/a.ts', ['erasure/b.ts']],
      ['erasure/b.ts', ['sink/a.ts', 'config/c.ts']],
      ['config/c.ts', []],
      ['newfolder/d.ts', ['config/c.ts']],
    ]);
    expect(importCircles(planted)).toEqual([['erasure/b.ts', 'sink/a.ts']]);
    expect(upwardImports(planted, LAYERS)).toEqual(['erasure -> sink: erasure/b.ts imports sink/a.ts', 'newfolder: no layer (add it to LAYERS)']);
  });
});

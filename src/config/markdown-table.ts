import { z } from 'zod';
import { CONNECTOR_SCHEMA } from './connector.js';
import { OPTIONS, type OptionSpec } from './options.js';
import { VENDOR_SCHEMA } from './telephony-vendors.js';

function shownDefault(spec: OptionSpec): string {
  if (spec.shownDefault) return spec.shownDefault;
  const parsed = spec.schema.safeParse(undefined);
  return parsed.success && parsed.data !== undefined ? `\`${String(parsed.data)}\`` : '(none)';
}

/** The configuration table of docs/configuration.md, rendered from OPTIONS (a test keeps it in step). */
export function configTableMarkdown(): string {
  const rows = Object.values(OPTIONS).map((spec) => `| \`${spec.env}\` | ${shownDefault(spec)} | ${spec.description} |`);
  return ['| Variable | Default | Meaning |', '| --- | --- | --- |', ...rows].join('\n');
}

/** The parts of a zod-generated JSON Schema the key tables read. */
interface SchemaNode {
  type?: string;
  properties?: Record<string, SchemaNode>;
  required?: string[];
  default?: unknown;
  description?: string;
  /** `.meta({ docDefault })`: the default as shown, or the option (CALLSTREAM_*) the key falls back to. */
  docDefault?: string;
  const?: unknown;
  anyOf?: SchemaNode[];
  oneOf?: SchemaNode[];
}

export interface KeyRow {
  key: string;
  shownDefault: string;
  meaning: string;
}

const byEnv = new Map(Object.values(OPTIONS).map((spec) => [spec.env, spec]));

function defaultOf(node: SchemaNode, required: boolean): string {
  if (node.docDefault !== undefined) {
    const option = byEnv.get(node.docDefault);
    return option ? `\`${option.env}\` (${shownDefault(option)})` : node.docDefault;
  }
  if (node.default !== undefined) return `\`${JSON.stringify(node.default)}\``;
  return required ? 'required' : '–';
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** Every key of a file schema, nested sections as dotted keys (`bigquery.dataset`), in declaration order. */
export function keyRows(schema: z.ZodType): KeyRow[] {
  const rows: KeyRow[] = [];
  const walk = (node: SchemaNode, prefix: string) => {
    for (const [name, child] of Object.entries(node.properties ?? {})) {
      const key = `${prefix}${name}`;
      if (child.type === 'object' && child.properties) walk(child, `${key}.`);
      else rows.push({ key, shownDefault: defaultOf(child, node.required?.includes(name) ?? false), meaning: child.description ?? '' });
    }
  };
  walk(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as SchemaNode, '');
  return rows;
}

/**
 * The keys of a union of object schemas told apart by a literal `discriminator` (the vendors'
 * `scheme`): one row per key, naming the variants a key belongs to unless it is in all.
 */
export function unionKeyRows(schema: z.ZodType, discriminator: string): KeyRow[] {
  const root = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as SchemaNode;
  const variants = root.oneOf ?? root.anyOf ?? [root];
  const names = variants.map((v) => String(v.properties?.[discriminator]?.const));
  const keys = new Map<string, { node: SchemaNode; required: boolean; in: string[] }>();
  variants.forEach((variant, i) => {
    for (const [name, node] of Object.entries(variant.properties ?? {})) {
      const seen = keys.get(name) ?? { node, required: variant.required?.includes(name) ?? false, in: [] };
      seen.in.push(names[i]);
      keys.set(name, seen);
    }
  });
  return [...keys].map(([key, { node, required, in: where }]) => {
    if (key === discriminator) {
      return { key, shownDefault: 'required', meaning: `${node.description ?? ''} One of ${names.map((n) => `\`${n}\``).join(', ')}.`.trim() };
    }
    const only = where.length < variants.length ? `For ${where.map((n) => `\`${n}\``).join(', ')}: ` : '';
    return { key, shownDefault: defaultOf(node, required), meaning: `${only}${node.description ?? ''}` };
  });
}

export function keyTableMarkdown(rows: readonly KeyRow[]): string {
  return ['| Key | Default | Meaning |', '| --- | --- | --- |', ...rows.map((r) => `| \`${r.key}\` | ${r.shownDefault} | ${cell(r.meaning)} |`)].join('\n');
}

/** The connector file's keys (docs/bigquery.md), from CONNECTOR_SCHEMA. */
export function connectorTableMarkdown(): string {
  return keyTableMarkdown(keyRows(CONNECTOR_SCHEMA));
}

/** A vendor entry's keys (docs/integration.md), from VENDOR_SCHEMA. */
export function vendorTableMarkdown(): string {
  return keyTableMarkdown([{ key: '(the key itself)', shownDefault: 'required', meaning: 'The slug: 1-64 of a-z, 0-9, - and _ (the {vendor_slug} of the route).' }, ...unionKeyRows(VENDOR_SCHEMA, 'scheme')]).replace('`(the key itself)`', '(the key itself)');
}

/**
 * The generated tables of the docs: each between `<!-- generated: <name> -->` and the next
 * blank line (`npm run docs:config` writes them, a test checks them).
 */
export const GENERATED_TABLES: ReadonlyArray<{ name: string; file: string; render: () => string }> = [
  { name: 'environment', file: 'docs/configuration.md', render: configTableMarkdown },
  { name: 'connector-keys', file: 'docs/bigquery.md', render: connectorTableMarkdown },
  { name: 'vendor-keys', file: 'docs/integration.md', render: vendorTableMarkdown },
];

/** The text with the generated table `name` replaced by `table`; throws when its marker is missing. */
export function withGeneratedTable(text: string, name: string, table: string): string {
  const marker = `<!-- generated: ${name} (npm run docs:config) -->\n`;
  const start = text.indexOf(marker);
  if (start < 0) throw new Error(`no "${marker.trim()}" marker`);
  const from = start + marker.length;
  const end = text.indexOf('\n\n', from);
  return text.slice(0, from) + table + (end === -1 ? '\n' : text.slice(end));
}

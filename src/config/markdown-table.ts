import { OPTIONS, type OptionSpec } from './options.js';

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

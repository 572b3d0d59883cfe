import { OPTIONS, type OptionKey } from '../config/options.js';

/** How a variable's default reads: the README's table is rendered the same way, from the same OPTIONS. */
export function shownDefault(key: OptionKey): string {
  const spec = OPTIONS[key];
  if (spec.shownDefault) return spec.shownDefault;
  const parsed = spec.schema.safeParse(undefined);
  return parsed.success && parsed.data !== undefined ? String(parsed.data) : '(none)';
}

/**
 * The "Environment" part of a command's --help: the variables that matter most to it, with
 * their defaults, read from src/config/options.ts so that help and README cannot drift apart.
 */
export function environmentHelp(keys: OptionKey[]): string {
  const rows = keys.map((key) => [OPTIONS[key].env, shownDefault(key), firstSentence(OPTIONS[key].description)]);
  const width = (i: number) => Math.max(...rows.map((r) => r[i].length));
  const lines = rows.map((r) => `  ${r[0].padEnd(width(0))}  ${r[1].padEnd(width(1))}  ${r[2]}`);
  return ['', 'Environment (main variables and defaults; every one is in docs/configuration.md):', ...lines].join('\n');
}

function firstSentence(text: string): string {
  const end = text.search(/\.(\s|$)/);
  return end === -1 ? text : text.slice(0, end + 1);
}

/** An option's help text with its default and, where one exists, the variable behind it. */
export function described(text: string, facts: { default: string; env?: OptionKey }): string {
  const env = facts.env === undefined ? '' : `; env: ${OPTIONS[facts.env].env}`;
  return `${text} (default: ${facts.default.replace(/^\((.*)\)$/, '$1')}${env})`;
}

import { Option, type Command } from 'commander';
import { described, shownDefault } from './env-help.js';
import { usageLine, USAGE_EXIT } from './usage.js';

/** What an action hands back to main(): the exit code. */
export type Done = (code: number) => void;

export const NAME = 'callstream';

/** A subcommand that reports a user's mistake on one line, naming itself. */
export function subcommand(program: Command, name: string, description: string): Command {
  return withOneLineErrors(program.command(name), `${NAME} ${name}`).description(description);
}

export function withOneLineErrors(cmd: Command, path: string): Command {
  return cmd
    .exitOverride() // main() turns commander's exits into exit codes: tests run the CLI in-process
    .configureOutput({
      // Through console, like everything else the CLI prints (tests capture it there).
      writeOut: (text) => console.log(text.replace(/\n$/, '')),
      writeErr: (text) => console.error(text.replace(/\n$/, '')),
      outputError: (text, write) => write(`${usageLine(path, text)}\n`),
    });
}

/** A mistake only the action can see (a missing choice, a range upside down): the same one line, exit 2. */
export function usageError(cmd: Command, message: string): never {
  return cmd.error(message, { exitCode: USAGE_EXIT, code: 'callstream.usage' });
}

export function example(...lines: string[]): string {
  return `\n\nExample${lines.length > 1 ? 's' : ''}:\n${lines.map((l) => `  ${l}`).join('\n')}`;
}

/** --connector of start, receiver, sink and replay. */
export const connectorOption = () =>
  new Option('--connector <file>', described('connector file (connectors/*.json); its settings override the environment\'s', { default: shownDefault('connectorFile'), env: 'connectorFile' }));

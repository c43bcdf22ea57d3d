/** `dbwarden validate`: the config and policies checked without touching any database. */
import type { Command } from 'commander';
import { type CommandContext, globalOptions, textOrJson } from './shared.js';

const HELP = `
Reports every problem at once, as file:line:col, and exits 2 if there is any.
Without paths it reads the config (--config) and the policies it names; with
paths it checks just those policy files, against the limits of every engine.

Examples:
  dbwarden validate --config examples/nova/dbwarden.yaml
  dbwarden validate policies/nova
  dbwarden validate --format json`;

export function registerValidate(program: Command, { io, setExitCode }: CommandContext): void {
  program
    .command('validate')
    .description('check the config and every policy file, without touching any database')
    .argument('[paths...]', 'policy files or directories to check on their own, without a config')
    .addHelpText('after', HELP)
    .action(async (paths: string[], _opts: unknown, cmd: Command) => {
      const { config, format } = globalOptions(cmd);
      const { runValidate } = await import('../validate.js');
      setExitCode(runValidate({ config, format: textOrJson(format, 'validate'), paths }, io));
    });
}

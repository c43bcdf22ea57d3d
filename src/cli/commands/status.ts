/** `dbwarden status`: per target and secrets table, migrations applied and rows per master key id. */
import type { Command } from 'commander';
import { type CommandContext, globalOptions, secretsCommands, textOrJson } from './shared.js';

const HELP = `
Reads only. Lists the previous keys that no row uses any more (safe to remove
from masterKey.previous) and key ids in the data that no configured key has.`;

export function registerStatus(program: Command, { io, setExitCode }: CommandContext): void {
  program
    .command('status')
    .description('per target and secrets table: migrations applied, rows per master key id and in plaintext')
    .addHelpText('after', HELP)
    .action(async (_opts: unknown, cmd: Command) => {
      const { config, format } = globalOptions(cmd);
      const { statusCommand } = await secretsCommands();
      setExitCode(await statusCommand({ config, format: textOrJson(format, 'status') }, io));
    });
}

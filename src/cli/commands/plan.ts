/** `dbwarden plan`: the changes apply would make, for people, scripts or review. */
import type { Command } from 'commander';
import { type CommandContext, databaseCommands, globalOptions } from './shared.js';

/** The flags of plan as commander parses them. */
interface PlanFlags {
  exitCode?: true;
  component?: string[];
  rotatePasswords?: true;
  out?: string;
}

const HELP = `
Reads every target (nothing is written) and prints, per target and component,
+ what would be created or granted, - revoked or dropped, ~ changed in place,
and the encrypted store's pending work (migrations, rows to encrypt or
re-encrypt per table and key id). --format json prints the Change list;
--format sql prints the exact statements apply runs, with password verifiers
redacted. A policy naming a table or column a target lacks exits 2.

--out FILE writes the plan for review: the changes, a SHA-256 fingerprint of
every target's catalog as read, a digest of the policies and config; no
password (apply makes them). "dbwarden apply FILE" applies exactly that plan,
or exits 3 changing nothing when a target changed since (docs/cli.md).

Examples:
  dbwarden plan --config dbwarden.yaml
  dbwarden plan --exit-code          # in CI: 3 means the servers drifted from the policies
  dbwarden plan --format sql > review.sql
  dbwarden plan --out reviewed.plan && dbwarden apply reviewed.plan`;

export function registerPlan(program: Command, context: CommandContext): void {
  program
    .command('plan')
    .description('introspect every target and print the changes apply would make')
    .option('--exit-code', 'exit 3 when changes are pending, 0 when none')
    .option('--component <name...>', 'only the changes of these components')
    .option('--rotate-passwords', 'show the password changes apply --rotate-passwords would make')
    .option(
      '--out <file>',
      'also write the reviewed plan to FILE (JSON, no secrets) for "dbwarden apply FILE"',
    )
    .addHelpText('after', HELP)
    .action((opts: PlanFlags, cmd: Command) => runPlan(opts, cmd, context));
}

async function runPlan(opts: PlanFlags, cmd: Command, { io, setExitCode }: CommandContext): Promise<void> {
  const { config, format } = globalOptions(cmd);
  const { planCommand } = await databaseCommands();
  const options = {
    config,
    format,
    exitCode: opts.exitCode ?? false,
    components: opts.component,
    rotatePasswords: opts.rotatePasswords ?? false,
    out: opts.out,
  };
  setExitCode(await planCommand(options, io));
}

/** `dbwarden apply`: roles, logins and grants made to match the policies; credentials written. */
import type { Command } from 'commander';
import {
  type CommandContext,
  databaseCommands,
  globalOptions,
  lockWaitOption,
  textOrJson,
} from './shared.js';

/** The flags of apply as commander parses them. */
interface ApplyFlags {
  rotatePasswords?: true;
  component?: string[];
  lockWait: number;
}

const HELP = `
Each target's changes run under dbwarden's lock: a second apply waits for the
first, then finds nothing left to do. Targets run in name order. On PostgreSQL
a target's changes are one transaction: if one fails, it and the targets after
it roll back. On MySQL/MariaDB each statement commits on its own, in an order
where every prefix is safe. Either way, running apply again continues from
where a failed or killed run stopped. New logins get a random 32-byte
password; the server is sent only a hash of it (PostgreSQL: SCRAM-SHA-256
verifier; MySQL: caching_sha2_password; MariaDB: mysql_native_password). Credentials go to
credentials.dir as <component>.json (mode 0600); existing passwords are kept
unless --rotate-passwords.

With a planfile (plan --out FILE), apply reads every target's catalog under
the lock and compares it with the plan's fingerprints: if any target changed
since the plan was made it exits 3, naming them, with nothing changed;
otherwise it runs exactly the planned changes. A planfile that is not valid,
was edited, or was made from other policies or config exits 2.

Examples:
  dbwarden apply --config dbwarden.yaml
  dbwarden apply --rotate-passwords --component scheduler
  dbwarden apply reviewed.plan`;

export function registerApply(program: Command, context: CommandContext): void {
  program
    .command('apply')
    .description('make roles, logins and grants match the policies; write credentials')
    .argument(
      '[planfile]',
      'apply exactly this reviewed plan (made by plan --out); exit 3 if a target changed since',
    )
    .option('--rotate-passwords', 'give existing logins new passwords (all, or those of --component)')
    .option('--component <name...>', 'only the changes of these components')
    .addOption(lockWaitOption())
    .addHelpText('after', HELP)
    .action((planfile: string | undefined, opts: ApplyFlags, cmd: Command) =>
      runApply({ planfile, opts, cmd }, context),
    );
}

async function runApply(
  { planfile, opts, cmd }: { planfile: string | undefined; opts: ApplyFlags; cmd: Command },
  { io, setExitCode }: CommandContext,
): Promise<void> {
  const { config, format } = globalOptions(cmd);
  const { applyCommand } = await databaseCommands();
  const options = {
    config,
    format: textOrJson(format, 'apply'),
    components: opts.component,
    rotatePasswords: opts.rotatePasswords ?? false,
    lockWaitSeconds: opts.lockWait,
    planfile,
  };
  setExitCode(await applyCommand(options, io));
}

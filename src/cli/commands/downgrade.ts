/** `dbwarden downgrade`: migrations reverted, and with --drop-roles every managed role dropped. */
import type { Command } from 'commander';
import { InvalidInputError } from '../../errors.js';
import { MIGRATION_NAMES } from '../../secrets/store/migration-names.js';
import {
  batchSizeOption,
  type CommandContext,
  globalOptions,
  lockWaitOption,
  secretsCommands,
  textOrJson,
} from './shared.js';

/** The flags of downgrade as commander parses them. */
interface DowngradeFlags {
  to: string;
  batchSize: number;
  dropRoles?: true;
  force?: true;
  yes?: true;
  lockWait: number;
}

const HELP = `
Never runs by itself: upgrade only goes forward. "--to base" decrypts every
value back to plaintext, then drops the key-id and blind-index columns and
restores each secret column's original type (refusing, with the row ids, when
a value would not fit). "--to 001_key_columns" only decrypts. Needs every key
that encrypted a value (current or previous).

--drop-roles then revokes and drops every role and login dbwarden manages for
the app (apply with no policies) and removes their credentials: the database
is left as it was before dbwarden. It refuses, dropping nothing, while any of
the app's logins has a session open (stop the services first), unless
--force; a dropped login's open sessions run on until they disconnect.

Both destroy what cannot be had back, so a downgrade that decrypts values
(--to base or --to 001_key_columns, with secrets configured) or --drop-roles
first says what it would destroy and asks for the app's name on a terminal;
off a terminal (CI, a Kubernetes Job) it needs --yes, and without it exits 2
with nothing changed.

Examples:
  dbwarden downgrade --to base
  dbwarden downgrade --to base --drop-roles --yes   # in a script or Job`;

export function registerDowngrade(program: Command, context: CommandContext): void {
  program
    .command('downgrade')
    .description('revert migrations down to NAME (base: everything, values back to plaintext)')
    .requiredOption(
      '--to <name>',
      `migration to revert to, or base (migrations: ${MIGRATION_NAMES.join(', ')})`,
    )
    .addOption(batchSizeOption())
    .option(
      '--drop-roles',
      'then drop every role and login dbwarden manages for the app, and their credentials',
    )
    .option('--force', 'with --drop-roles: drop logins even while they have sessions open')
    .option('-y, --yes', 'do not ask for confirmation (required when not on a terminal)')
    .addOption(lockWaitOption())
    .addHelpText('after', HELP)
    .action((opts: DowngradeFlags, cmd: Command) => runDowngrade(opts, cmd, context));
}

async function runDowngrade(
  opts: DowngradeFlags,
  cmd: Command,
  { io, setExitCode }: CommandContext,
): Promise<void> {
  const { config, format } = globalOptions(cmd);
  if (opts.force && !opts.dropRoles) {
    throw new InvalidInputError('--force goes with --drop-roles', {
      hint: 'dbwarden downgrade --to base --drop-roles --force',
    });
  }
  const { downgradeCommand } = await secretsCommands();
  const options = {
    config,
    format: textOrJson(format, 'downgrade'),
    to: opts.to,
    batchSize: opts.batchSize,
    dropRoles: opts.dropRoles === true,
    force: opts.force === true,
    yes: opts.yes === true,
    lockWaitSeconds: opts.lockWait,
  };
  setExitCode(await downgradeCommand(options, io));
}

/** `dbwarden upgrade`: the deploy-time job (apply, migrations, re-encryption, verify). */
import { type Command, Option } from 'commander';
import { DEFAULT_VERIFY_SAMPLE } from '../../runner/defaults.js';
import {
  batchSizeOption,
  type CommandContext,
  databaseCommands,
  globalOptions,
  lockWaitOption,
  positiveCount,
  secretsCommands,
  textOrJson,
} from './shared.js';

/** The flags of upgrade as commander parses them. */
interface UpgradeFlags {
  lockWait: number;
  batchSize: number;
  verifySample: number;
  dryRun?: true;
}

const HELP = `
Steps, in order: check (master keys read, secrets tables and the key ids in
them checked: bad input exits 2 before anything is written), apply
(roles, logins, grants, credential files), secrets (per target: migrations and
re-encryption), verify (every component logs in and its privileges are
compared with its policy; --verify-sample rows per secrets table are decrypted
in place). A failure names the step and the target; every step is safe to run
again, so the fix is always: correct the cause, run upgrade again. A second
run with nothing to do says so. Exit 0 done, 1 a step failed, 2 invalid input
(nothing written), 3 verification failed. --format json prints one summary
document: per target the role changes, migrations run, rows encrypted and
re-encrypted, the verify result and the time spent (docs/cli.md).

The secrets step, on every target whose kind a secrets entry names: the
pending migrations (add key-id and blind-index columns, widen the secret
columns; encrypt every plaintext value), then re-encrypts every row whose key
id is not masterKey.current. A malformed key exits 2 with nothing written,
and so does a key id in the data that no configured key opens.
Each batch of rows commits on its own and is written back only if the row
still holds what was read, so the application can keep running, and a
killed upgrade is finished by running it again.

Key rotation: make the new key current and list the old one under previous,
then upgrade. Rolling a rotation back is the same with the keys swapped.

--dry-run runs the check step, then prints the role changes of the apply step
and per target the migrations to run and the rows to encrypt or re-encrypt per
table and key id; it takes no lock and writes nothing. Exit 0, or 2 for what
the check step refuses.

Examples:
  dbwarden upgrade --config dbwarden.yaml
  dbwarden upgrade --dry-run
  dbwarden upgrade --batch-size 2000 --format json`;

export function registerUpgrade(program: Command, context: CommandContext): void {
  program
    .command('upgrade')
    .description(
      'the deploy-time job: apply roles and grants, run pending migrations, re-encrypt under the current key',
    )
    .addOption(lockWaitOption())
    .addOption(batchSizeOption())
    .addOption(
      new Option(
        '--verify-sample <rows>',
        'rows per secrets table decrypted in place after re-encrypting ("dbwarden verify --secrets" checks every row)',
      )
        .default(DEFAULT_VERIFY_SAMPLE)
        .argParser(positiveCount),
    )
    .option('--dry-run', 'show what upgrade would do (roles, migrations, rows per key id) and change nothing')
    .addHelpText('after', HELP)
    .action((opts: UpgradeFlags, cmd: Command) => runUpgrade(opts, cmd, context));
}

async function runUpgrade(
  opts: UpgradeFlags,
  cmd: Command,
  { io, setExitCode }: CommandContext,
): Promise<void> {
  const { config, format } = globalOptions(cmd);
  if (opts.dryRun) {
    const dryRun = { config, format: textOrJson(format, 'upgrade') };
    setExitCode(await (await databaseCommands()).upgradeDryRunCommand(dryRun, io));
    return;
  }
  const { upgradeCommand } = await secretsCommands();
  const options = {
    config,
    format: textOrJson(format, 'upgrade'),
    lockWaitSeconds: opts.lockWait,
    batchSize: opts.batchSize,
    verifySample: opts.verifySample,
  };
  setExitCode(await upgradeCommand(options, io));
}

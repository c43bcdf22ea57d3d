/**
 * `dbwarden <command>`: argument parsing, dispatch, and the mapping of every
 * outcome to an exit code (design.md section 4).
 */
import { createRequire } from 'node:module';
import { Argument, Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { DbwardenError, ExitCode, InvalidInputError } from '../errors.js';
import { type CliIo, type OutputFormat, printDiagnostics, printJson } from './output.js';
import { defaultPresentation, presentedIo, settlePresentation } from './presentation.js';
import { MIGRATION_NAMES } from '../secrets/store/migration-names.js';
import { DEFAULT_VERIFY_SAMPLE } from '../runner/defaults.js';

/*
 * Each command's module is imported when the command runs: the drivers, knex,
 * the Encryption SDK and the Kubernetes client take most of a second to load,
 * which `--help`, `--version` and `validate` need not pay.
 */
const databaseCommands = () => import('./database-commands.js');
const secretsCommands = () => import('./secrets-commands.js');

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

interface GlobalOptions {
  config: string;
  format: OutputFormat | 'sql';
  /** false with --no-color. */
  color: boolean;
  quiet?: true;
  verbose?: true;
}

/** The flags of plan and upgrade as commander parses them. */
interface PlanFlags {
  exitCode?: true;
  component?: string[];
  rotatePasswords?: true;
  out?: string;
}
interface UpgradeFlags {
  lockWait: number;
  batchSize: number;
  verifySample: number;
  dryRun?: true;
}

const EXIT_CODES_HELP = `
Exit codes:
  0  done
  1  runtime failure (server unreachable, SQL error, crash)
  2  invalid input (flags, config, policy, master key material); nothing was written
  3  changes pending (plan --exit-code) or verification failed
Per command: docs/cli.md, "Exit codes per command".`;

/** Runs one command line; returns the exit code instead of exiting, so tests can call it. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const outcome: { exitCode: number; format: OutputFormat } = {
    exitCode: ExitCode.ok,
    format: requestedFormat(argv),
  };
  // Commands write to commandIo; what reaches the terminal follows --quiet, --verbose and colour.
  const presentation = defaultPresentation();
  const commandIo = presentedIo(io, presentation);
  const program = buildProgram(commandIo, (code) => {
    outcome.exitCode = code;
  });
  program.hook('preAction', (_, action) => {
    const globals = action.optsWithGlobals() as GlobalOptions;
    // Errors are reported as JSON only for json; sql output has no error form.
    outcome.format = globals.format === 'json' ? 'json' : 'text';
    settlePresentation(
      presentation,
      {
        command: action.name(),
        format: globals.format,
        color: globals.color,
        quiet: globals.quiet === true,
        verbose: globals.verbose === true,
      },
      io,
    );
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return outcome.exitCode;
  } catch (err) {
    return reportError(err, outcome.format, io);
  }
}

/** The format asked for, known before parsing succeeds, so usage errors can be JSON too. */
function requestedFormat(argv: readonly string[]): OutputFormat {
  const i = argv.findIndex((a) => a === '--format' || a.startsWith('--format='));
  const value = i < 0 ? undefined : argv[i]?.includes('=') ? argv[i]?.split('=')[1] : argv[i + 1];
  return value === 'json' ? 'json' : 'text';
}

function buildProgram(io: CliIo, setExitCode: (code: number) => void): Command {
  const program = new Command('dbwarden')
    .description(
      'Least-privilege database logins for every component of an application, and encrypted stored keys under a rotatable master key.',
    )
    .version(version, '-V, --version')
    .option('-c, --config <path>', 'deployment config file', 'dbwarden.yaml')
    .addOption(
      new Option(
        '--format <format>',
        'output: text for people, json for scripts (one document on stdout); plan also takes sql',
      )
        .choices(['text', 'json', 'sql'])
        .default('text'),
    )
    .option(
      '--no-color',
      'no colour in text output (also NO_COLOR=1; FORCE_COLOR=1 forces it off a terminal)',
    )
    .addOption(
      new Option(
        '-q, --quiet',
        'print only errors and the final verdict (no progress, logs or warnings)',
      ).conflicts('verbose'),
    )
    .option('--verbose', 'print extra detail on stderr, e.g. each statement as it runs')
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ showGlobalOptions: true })
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .addHelpText('after', `${EXIT_CODES_HELP}\n\nDocs: docs/cli.md, docs/policy-format.md, docs/config.md`);

  const globals = (cmd: Command) => cmd.optsWithGlobals() as GlobalOptions;

  program
    .command('validate')
    .description('check the config and every policy file, without touching any database')
    .argument('[paths...]', 'policy files or directories to check on their own, without a config')
    .addHelpText(
      'after',
      `
Reports every problem at once, as file:line:col, and exits 2 if there is any.
Without paths it reads the config (--config) and the policies it names; with
paths it checks just those policy files, against the limits of every engine.

Examples:
  dbwarden validate --config examples/nova/dbwarden.yaml
  dbwarden validate policies/nova
  dbwarden validate --format json`,
    )
    .action(async (paths: string[], _opts: unknown, cmd: Command) => {
      const { config, format } = globals(cmd);
      const { runValidate } = await import('./validate.js');
      setExitCode(runValidate({ config, format: textOrJson(format, 'validate'), paths }, io));
    });

  program
    .command('schema')
    .description('print the JSON Schema of policy and config files, for editors and CI')
    .addArgument(
      new Argument('[which]', 'policy, config, or both when left out').choices(['policy', 'config']),
    )
    .addHelpText(
      'after',
      `
Editors that use yaml-language-server check a file against a schema named in
its first line:  # yaml-language-server: $schema=<path to the schema file>
The shipped files are docs/schema/policy.schema.json and docs/schema/config.schema.json.`,
    )
    .action(async (which: 'policy' | 'config' | undefined) => {
      const { jsonSchemas } = await import('../policy/schema.js');
      const schemas = jsonSchemas();
      printJson(which ? schemas[which] : schemas, io);
    });

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
    .addHelpText(
      'after',
      `
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
  dbwarden plan --out reviewed.plan && dbwarden apply reviewed.plan`,
    )
    .action(async (opts: PlanFlags, cmd: Command) => {
      const { config, format } = globals(cmd);
      setExitCode(
        await (
          await databaseCommands()
        ).planCommand(
          {
            config,
            format,
            exitCode: opts.exitCode ?? false,
            components: opts.component,
            rotatePasswords: opts.rotatePasswords ?? false,
            out: opts.out,
          },
          io,
        ),
      );
    });

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
    .addHelpText(
      'after',
      `
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
  dbwarden apply reviewed.plan`,
    )
    .action(
      async (
        planfile: string | undefined,
        opts: { rotatePasswords?: true; component?: string[]; lockWait: number },
        cmd: Command,
      ) => {
        const { config, format } = globals(cmd);
        setExitCode(
          await (
            await databaseCommands()
          ).applyCommand(
            {
              config,
              format: textOrJson(format, 'apply'),
              components: opts.component,
              rotatePasswords: opts.rotatePasswords ?? false,
              lockWaitSeconds: opts.lockWait,
              planfile,
            },
            io,
          ),
        );
      },
    );

  program
    .command('verify')
    .description('log in as every component and check its privileges equal its policy')
    .option('--secrets', 'also decrypt every stored secret where it is, and report each row that fails')
    .addOption(
      new Option('--sample <n>', 'with --secrets: decrypt only n rows per table').argParser(positiveCount),
    )
    // --secrets reads and decrypts the secrets tables in batches: the same option as upgrade's, its own words.
    .addOption(batchSizeOption('with --secrets: rows read and decrypted per batch'))
    .addHelpText(
      'after',
      `
Logs in with each component's own credentials (credentials.dir) and asks the
server what that login can do on every table, column and sequence of the
schemas its policy uses (has_table_privilege and friends: grants through roles
and PUBLIC count; on MySQL/MariaDB, SHOW GRANTS through its default role).
Reports missing and extra privileges per table; a component without databases
must have no login. With --secrets, also decrypts every value of the config's
secrets tables (or --sample N per table) with the configured master keys and
checks each is bound to its own table, column and row. Exit 3 on any difference
or failing row.`,
    )
    .action(async (opts: { secrets?: true; sample?: number; batchSize: number }, cmd: Command) => {
      const { config, format } = globals(cmd);
      const textOrJsonFormat = textOrJson(format, 'verify');
      if (opts.sample !== undefined && !opts.secrets) {
        throw new InvalidInputError('--sample goes with --secrets', {
          hint: 'dbwarden verify --secrets --sample 100',
        });
      }
      if (cmd.getOptionValueSource('batchSize') === 'cli' && !opts.secrets) {
        throw new InvalidInputError('--batch-size goes with --secrets', {
          hint: 'dbwarden verify --secrets --batch-size 1000',
        });
      }
      setExitCode(
        opts.secrets
          ? await (
              await secretsCommands()
            ).verifyWithSecretsCommand(
              { config, format: textOrJsonFormat, sample: opts.sample, batchSize: opts.batchSize },
              io,
            )
          : await (await databaseCommands()).verifyCommand({ config, format: textOrJsonFormat }, io),
      );
    });

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
    .addHelpText(
      'after',
      `
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
  dbwarden upgrade --batch-size 2000 --format json`,
    )
    .action(async (opts: UpgradeFlags, cmd: Command) => {
      const { config, format } = globals(cmd);
      if (opts.dryRun) {
        const dryRun = { config, format: textOrJson(format, 'upgrade') };
        setExitCode(await (await databaseCommands()).upgradeDryRunCommand(dryRun, io));
        return;
      }
      setExitCode(
        await (
          await secretsCommands()
        ).upgradeCommand(
          {
            config,
            format: textOrJson(format, 'upgrade'),
            lockWaitSeconds: opts.lockWait,
            batchSize: opts.batchSize,
            verifySample: opts.verifySample,
          },
          io,
        ),
      );
    });

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
    .addHelpText(
      'after',
      `
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
  dbwarden downgrade --to base --drop-roles --yes   # in a script or Job`,
    )
    .action(
      async (
        opts: {
          to: string;
          batchSize: number;
          dropRoles?: true;
          force?: true;
          yes?: true;
          lockWait: number;
        },
        cmd: Command,
      ) => {
        const { config, format } = globals(cmd);
        if (opts.force && !opts.dropRoles) {
          throw new InvalidInputError('--force goes with --drop-roles', {
            hint: 'dbwarden downgrade --to base --drop-roles --force',
          });
        }
        setExitCode(
          await (
            await secretsCommands()
          ).downgradeCommand(
            {
              config,
              format: textOrJson(format, 'downgrade'),
              to: opts.to,
              batchSize: opts.batchSize,
              dropRoles: opts.dropRoles === true,
              force: opts.force === true,
              yes: opts.yes === true,
              lockWaitSeconds: opts.lockWait,
            },
            io,
          ),
        );
      },
    );

  program
    .command('status')
    .description('per target and secrets table: migrations applied, rows per master key id and in plaintext')
    .addHelpText(
      'after',
      `
Reads only. Lists the previous keys that no row uses any more (safe to remove
from masterKey.previous) and key ids in the data that no configured key has.`,
    )
    .action(async (_opts: unknown, cmd: Command) => {
      const { config, format } = globals(cmd);
      setExitCode(
        await (await secretsCommands()).statusCommand({ config, format: textOrJson(format, 'status') }, io),
      );
    });
  return program;
}

function lockWaitOption(): Option {
  return new Option(
    '--lock-wait <seconds>',
    'how long to wait for another dbwarden run on the same databases',
  )
    .default(300)
    .argParser(positiveSeconds);
}

function batchSizeOption(description = 'rows per transaction when encrypting or re-encrypting'): Option {
  return new Option('--batch-size <rows>', description).default(500).argParser((value) => {
    const rows = Number(value);
    if (!Number.isInteger(rows) || rows < 1 || rows > 100_000) {
      throw new InvalidArgumentError('expected whole rows between 1 and 100000');
    }
    return rows;
  });
}

function positiveCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number of at least 1');
  return n;
}

/** --format sql is plan's alone: other commands have no statements to show. */
function textOrJson(format: OutputFormat | 'sql', command: string): OutputFormat {
  if (format === 'sql') {
    throw new InvalidInputError(`--format sql is only for "dbwarden plan", not "${command}"`, {
      hint: 'use --format text or --format json',
    });
  }
  return format;
}

function positiveSeconds(value: string): number {
  const seconds = Number(value);
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 86_400) {
    throw new InvalidArgumentError('expected whole seconds between 1 and 86400');
  }
  return seconds;
}

function reportError(err: unknown, format: OutputFormat, io: CliIo): number {
  if (err instanceof CommanderError) {
    // Help and version end in a CommanderError too; those are successes, except
    // the usage commander prints (exit code 1) when no command was given.
    if (
      err.code === 'commander.helpDisplayed' ||
      err.code === 'commander.version' ||
      (err.code === 'commander.help' && err.exitCode === 0)
    ) {
      return ExitCode.ok;
    }
    // Commander's message for a missing command is "(outputHelp)": say what is wrong instead.
    const message = err.code === 'commander.help' ? 'error: no command given' : err.message;
    if (format === 'json') printJson({ ok: false, error: { kind: 'usage', message } }, io);
    return ExitCode.invalidInput;
  }
  if (err instanceof DbwardenError) {
    if (format === 'json') {
      const diagnostics = err instanceof InvalidInputError ? err.diagnostics : [];
      printJson(
        {
          ok: false,
          error: { kind: err.name, message: err.message, hint: err.hint, diagnostics, ...err.details() },
        },
        io,
      );
    } else {
      if (err instanceof InvalidInputError) printDiagnostics(err.diagnostics, io);
      io.stderr(`dbwarden: ${err.message}\n${err.hint ? `  ${err.hint}\n` : ''}`);
    }
    return err.exitCode;
  }
  // A bug: say so, without a stack trace on stdout and without echoing arbitrary objects.
  const message = err instanceof Error ? `${err.name}: ${err.message}` : 'unknown error';
  io.stderr(`dbwarden: internal error: ${message}\n  please report it with the command you ran\n`);
  return ExitCode.runtimeFailure;
}

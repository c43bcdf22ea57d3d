/**
 * `dbwarden <command>`: argument parsing, dispatch, and the mapping of every
 * outcome to an exit code (design.md section 4).
 */
import { createRequire } from 'node:module';
import { Command, CommanderError, Option } from 'commander';
import { DbwardenError, ExitCode, InvalidInputError } from '../errors.js';
import { type CliIo, type OutputFormat, printDiagnostics, printJson } from './output.js';
import { defaultPresentation, presentedIo, settlePresentation } from './presentation.js';
import { registerApply } from './commands/apply.js';
import { registerDowngrade } from './commands/downgrade.js';
import { registerPlan } from './commands/plan.js';
import { registerSchema } from './commands/schema.js';
import type { CommandContext, GlobalOptions, RegisterCommand } from './commands/shared.js';
import { registerStatus } from './commands/status.js';
import { registerUpgrade } from './commands/upgrade.js';
import { registerValidate } from './commands/validate.js';
import { registerVerify } from './commands/verify.js';

/*
 * Each command's module is imported when the command runs (commands/shared.ts): the drivers,
 * knex, the Encryption SDK and the Kubernetes client take most of a second to load, which
 * `--help`, `--version` and `validate` need not pay. The registrations imported here load
 * only commander and small modules.
 */

/** Every command, in the order --help lists them. */
const COMMANDS: readonly RegisterCommand[] = [
  registerValidate,
  registerSchema,
  registerPlan,
  registerApply,
  registerVerify,
  registerUpgrade,
  registerDowngrade,
  registerStatus,
];

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

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

/** The program with its global flags, and every command registered in the order --help lists them. */
function buildProgram(io: CliIo, setExitCode: (code: number) => void): Command {
  const program = rootProgram(io);
  const context: CommandContext = { io, setExitCode };
  for (const register of COMMANDS) register(program, context);
  return program;
}

function rootProgram(io: CliIo): Command {
  return new Command('dbwarden')
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

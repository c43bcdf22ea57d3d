/**
 * What every command's registration shares: the global flags, the options several commands take,
 * and the lazy loaders of the command modules.
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { InvalidInputError } from '../../errors.js';
import { DEFAULT_LOCK_WAIT_SECONDS } from '../../runner/defaults.js';
import type { CliIo, OutputFormat } from '../output.js';

/*
 * Each command's module is imported when the command runs: the drivers, knex,
 * the Encryption SDK and the Kubernetes client take most of a second to load,
 * which `--help`, `--version` and `validate` need not pay. Registration modules
 * therefore import the command modules only through these loaders.
 */
export const databaseCommands = () => import('../database-commands.js');
export const secretsCommands = () => import('../secrets-commands.js');

export interface GlobalOptions {
  config: string;
  format: OutputFormat | 'sql';
  /** false with --no-color. */
  color: boolean;
  quiet?: true;
  verbose?: true;
}

/** What a command's action needs from main: where to write, and where to leave its exit code. */
export interface CommandContext {
  readonly io: CliIo;
  readonly setExitCode: (code: number) => void;
}

/** Registers one command on the program. */
export type RegisterCommand = (program: Command, context: CommandContext) => void;

export const globalOptions = (cmd: Command) => cmd.optsWithGlobals() as GlobalOptions;

export function lockWaitOption(): Option {
  return new Option(
    '--lock-wait <seconds>',
    'how long to wait for another dbwarden run on the same databases',
  )
    .default(DEFAULT_LOCK_WAIT_SECONDS)
    .argParser(positiveSeconds);
}

export function batchSizeOption(
  description = 'rows per transaction when encrypting or re-encrypting',
): Option {
  return new Option('--batch-size <rows>', description).default(500).argParser((value) => {
    const rows = Number(value);
    if (!Number.isInteger(rows) || rows < 1 || rows > 100_000) {
      throw new InvalidArgumentError('expected whole rows between 1 and 100000');
    }
    return rows;
  });
}

export function positiveCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number of at least 1');
  return n;
}

/** --format sql is plan's alone: other commands have no statements to show. */
export function textOrJson(format: OutputFormat | 'sql', command: string): OutputFormat {
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

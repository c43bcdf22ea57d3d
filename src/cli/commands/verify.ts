/** `dbwarden verify`: every component logs in; its privileges (and with --secrets, the stored values) checked. */
import { type Command, Option } from 'commander';
import { InvalidInputError } from '../../errors.js';
import {
  batchSizeOption,
  type CommandContext,
  databaseCommands,
  globalOptions,
  positiveCount,
  secretsCommands,
  textOrJson,
} from './shared.js';

/** The flags of verify as commander parses them. */
interface VerifyFlags {
  secrets?: true;
  sample?: number;
  batchSize: number;
}

const HELP = `
Logs in with each component's own credentials (credentials.dir) and asks the
server what that login can do on every table, column and sequence of the
schemas its policy uses (has_table_privilege and friends: grants through roles
and PUBLIC count; on MySQL/MariaDB, SHOW GRANTS through its default role).
Reports missing and extra privileges per table; a component without databases
must have no login. With --secrets, also decrypts every value of the config's
secrets tables (or --sample N per table) with the configured master keys and
checks each is bound to its own table, column and row. Exit 3 on any difference
or failing row.`;

export function registerVerify(program: Command, context: CommandContext): void {
  program
    .command('verify')
    .description('log in as every component and check its privileges equal its policy')
    .option('--secrets', 'also decrypt every stored secret where it is, and report each row that fails')
    .addOption(
      new Option('--sample <n>', 'with --secrets: decrypt only n rows per table').argParser(positiveCount),
    )
    // --secrets reads and decrypts the secrets tables in batches: the same option as upgrade's, its own words.
    .addOption(batchSizeOption('with --secrets: rows read and decrypted per batch'))
    .addHelpText('after', HELP)
    .action((opts: VerifyFlags, cmd: Command) => runVerify(opts, cmd, context));
}

/** --sample and --batch-size only mean something with --secrets. */
function checkSecretsFlags(opts: VerifyFlags, cmd: Command): void {
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
}

async function runVerify(
  opts: VerifyFlags,
  cmd: Command,
  { io, setExitCode }: CommandContext,
): Promise<void> {
  const { config, format } = globalOptions(cmd);
  const textOrJsonFormat = textOrJson(format, 'verify');
  checkSecretsFlags(opts, cmd);
  if (opts.secrets) {
    const { verifyWithSecretsCommand } = await secretsCommands();
    const options = { config, format: textOrJsonFormat, sample: opts.sample, batchSize: opts.batchSize };
    setExitCode(await verifyWithSecretsCommand(options, io));
    return;
  }
  const { verifyCommand } = await databaseCommands();
  setExitCode(await verifyCommand({ config, format: textOrJsonFormat }, io));
}

/** `dbwarden schema`: the JSON Schema of policy and config files. */
import { Argument, type Command } from 'commander';
import { printJson } from '../output.js';
import type { CommandContext } from './shared.js';

const HELP = `
Editors that use yaml-language-server check a file against a schema named in
its first line:  # yaml-language-server: $schema=<path to the schema file>
The shipped files are docs/schema/policy.schema.json and docs/schema/config.schema.json.`;

export function registerSchema(program: Command, { io }: CommandContext): void {
  program
    .command('schema')
    .description('print the JSON Schema of policy and config files, for editors and CI')
    .addArgument(
      new Argument('[which]', 'policy, config, or both when left out').choices(['policy', 'config']),
    )
    .addHelpText('after', HELP)
    .action(async (which: 'policy' | 'config' | undefined) => {
      const { jsonSchemas } = await import('../../policy/schema.js');
      const schemas = jsonSchemas();
      printJson(which ? schemas[which] : schemas, io);
    });
}

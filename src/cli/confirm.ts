/**
 * Confirmation of commands that destroy what cannot be had back (`downgrade
 * --to base`, `--drop-roles`): on a terminal the operator types the app's
 * name; elsewhere (CI, a Kubernetes Job) only `--yes` lets them run. Either
 * way the refusal comes before any connection, so nothing was changed.
 */
import { InvalidInputError } from '../errors.js';
import type { CliIo } from './output.js';

export interface Confirmation {
  /** The command as the operator would read it, e.g. "downgrade --to base --drop-roles". */
  readonly command: string;
  /** The config's app: what the operator types to confirm. */
  readonly app: string;
  /** What would be destroyed, one clause each; empty: nothing to confirm. */
  readonly losses: readonly string[];
  /** --yes was given. */
  readonly yes: boolean;
}

export async function confirmDestruction(c: Confirmation, io: CliIo): Promise<void> {
  if (c.losses.length === 0 || c.yes) return;
  const what = c.losses.map((l) => `  - ${l}`).join('\n');
  if (!io.prompt) {
    throw new InvalidInputError(
      `${c.command} would:\n${what}\nIt needs --yes when not run on a terminal; nothing was changed`,
      {
        hint: `once that is what you want, run it again with --yes: dbwarden ${c.command} --yes`,
      },
    );
  }
  // One question holding what is at stake: --quiet silences stderr, not the prompt.
  const question = `${c.command} will:\n${what}\nType the app name (${c.app}) to go on, anything else to stop: `;
  const answer = (await io.prompt(question)).trim();
  if (answer !== c.app) {
    throw new InvalidInputError(
      `not confirmed (the answer was not the app name ${c.app}); nothing was changed`,
      {
        hint: `run it again and type ${c.app}, or pass --yes`,
      },
    );
  }
}

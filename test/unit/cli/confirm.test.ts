/** Destructive commands confirm (issue 15, point 12): the decision, without a server. */
import { describe, expect, it } from 'vitest';
import { confirmDestruction } from '../../../src/cli/confirm.js';
import { InvalidInputError } from '../../../src/errors.js';
import type { CliIo } from '../../../src/cli/output.js';

function io(answer?: string) {
  const out = { stderr: '', questions: [] as string[] };
  const cli: CliIo = {
    stdout: () => undefined,
    stderr: (t) => (out.stderr += t),
    env: {},
    cwd: '/',
    prompt:
      answer === undefined
        ? undefined
        : (q) => {
            out.questions.push(q);
            return Promise.resolve(answer);
          },
  };
  return { cli, out };
}

const base = {
  command: 'downgrade --to base',
  app: 'nova',
  losses: ['decrypt every stored value'],
  yes: false,
};

describe('confirmDestruction', () => {
  it('off a terminal without --yes: invalid input (exit 2) naming the loss and --yes', async () => {
    const { cli } = io();
    const err = await confirmDestruction(base, cli).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as InvalidInputError).exitCode).toBe(2);
    expect((err as Error).message).toContain('- decrypt every stored value');
    expect((err as Error).message).toContain('nothing was changed');
    expect((err as InvalidInputError).hint).toContain('dbwarden downgrade --to base --yes');
  });

  it('--yes, or nothing to lose: no question', async () => {
    const { cli, out } = io('no');
    await confirmDestruction({ ...base, yes: true }, cli);
    await confirmDestruction({ ...base, losses: [] }, cli);
    expect(out.questions).toEqual([]);
  });

  it('on a terminal: only the app name goes on', async () => {
    const yes = io(' nova \n');
    await confirmDestruction(base, yes.cli);
    expect(yes.out.questions).toEqual([
      'downgrade --to base will:\n  - decrypt every stored value\nType the app name (nova) to go on, anything else to stop: ',
    ]);
    for (const answer of ['yes', 'y', '', 'Nova']) {
      const no = io(answer);
      await expect(confirmDestruction(base, no.cli)).rejects.toThrow(/not confirmed/);
    }
  });
});

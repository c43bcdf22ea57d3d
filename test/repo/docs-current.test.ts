/**
 * docs/cli.md keeps up with the code (issue 15, point 10): every error kind the JSON error
 * document can carry is listed, every command has its row of exit codes, and the stale sentences
 * about the encrypted store and master keys are gone.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const read = (file: string) => fs.readFileSync(path.join(root, file), 'utf8');

/** `name = 'X'` of every class in src that extends DbwardenError (what `error.kind` shows). */
function errorKinds(): string[] {
  const files = fs
    .readdirSync(path.join(root, 'src'), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'));
  const kinds: string[] = [];
  for (const f of files) {
    const text = read(path.join('src', f));
    for (const m of text.matchAll(/class (\w+) extends DbwardenError \{\s*override readonly name = '(\w+)'/g))
      kinds.push(m[2] ?? '');
  }
  return kinds.sort();
}

describe('docs/cli.md', () => {
  const cli = read('docs/cli.md');

  it('lists every error kind of the JSON error document', () => {
    const kinds = errorKinds();
    expect(kinds).toContain('UpgradeStepError');
    expect(kinds).toContain('InvalidInputError');
    const table = cli.slice(cli.indexOf('`kind` names the error'), cli.indexOf('## Output'));
    expect(table).not.toBe('');
    for (const kind of kinds) expect(table, kind).toContain(`\`${kind}\``);
  });

  it('has a row of exit codes for every command', () => {
    const table = cli.slice(
      cli.indexOf('### Exit codes per command'),
      cli.indexOf('Usage errors (unknown command'),
    );
    expect(table).toContain('| command | 0 | 1 | 2 | 3 |');
    for (const command of ['validate', 'schema', 'plan', 'apply', 'verify', 'upgrade', 'downgrade', 'status'])
      expect(table).toMatch(new RegExp(`^\\| \`${command}\` \\|`, 'm'));
  });

  it('documents --yes, colours, --quiet and --verbose', () => {
    for (const text of ['--yes', 'NO_COLOR', '--no-color', 'FORCE_COLOR', '--quiet', '--verbose'])
      expect(cli).toContain(text);
  });
});

describe('stale sentences', () => {
  it('README and docs/config.md say which commands use the encrypted store and master keys', () => {
    const readme = read('README.md');
    const config = read('docs/config.md');
    expect(readme).toContain('for the encrypted store');
    expect(readme).not.toContain('not\n   used yet');
    expect(readme).not.toMatch(/not\s+used\s+yet/);
    expect(config).toContain('Master keys');
    expect(config).not.toMatch(/no command of this version uses it/);
    expect(config).toMatch(/Key material is read only by the commands that use it: `upgrade`/);
  });
});

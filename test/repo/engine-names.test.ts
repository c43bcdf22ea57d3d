/**
 * Engine knowledge lives in src/dialects/ (issue 16, point 1; docs/design.md section 4): no code
 * outside it names an engine (postgres, mysql, mariadb: identifiers, strings, URL schemes;
 * comments do not count). The files that still do are listed with their count today: each may
 * only go down, and leaves the list at zero, so no new engine check can appear outside
 * src/dialects/. The list is the to-do list of point 1. `npx tsx test/repo/engine-names.ts`
 * prints the counts.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { engineNamesOutsideDialects, engineTokens } from './engine-names.js';

/** Files outside src/dialects/ that name an engine today, with how many code tokens do. */
const STILL_NAMING_ENGINES: Readonly<Record<string, number>> = {
  'src/credentials/login-url.ts': 8,
  'src/policy/schema.ts': 8,
  'src/secrets/store/dialects.ts': 8,
  'src/policy/config-file.ts': 4,
  'src/policy/model.ts': 3,
  'src/runner/planfile.ts': 2,
  'src/secrets/store/dialect.ts': 2,
  'src/secrets/store/types.ts': 2,
  'src/cli/commands/apply.ts': 1,
  'src/cli/commands/verify.ts': 1,
  'src/credentials/index.ts': 1,
  'src/plan/desired.ts': 1,
  'src/runner/apply.ts': 1,
  'src/runner/targets.ts': 1,
  'src/runner/upgrade.ts': 1,
};

const root = path.resolve(import.meta.dirname, '../..');

describe('engine names outside src/dialects/', () => {
  it('appear only in the listed files, never more often than listed', () => {
    const counts = engineNamesOutsideDialects(root);
    const problems: string[] = [];
    for (const [file, n] of counts) {
      const allowed = STILL_NAMING_ENGINES[file];
      if (allowed === undefined)
        problems.push(`${file}: names an engine ${n} times; move that into src/dialects/`);
      else if (n > allowed)
        problems.push(`${file}: names an engine ${n} times (allowed ${allowed}, only fewer)`);
    }
    for (const [file, allowed] of Object.entries(STILL_NAMING_ENGINES)) {
      const n = counts.get(file) ?? 0;
      if (n < allowed) problems.push(`${file}: now ${n} (listed ${allowed}): lower or delete its entry`);
    }
    expect(problems).toEqual([]);
  });

  it('counts code, not comments, and sees the tree', () => {
    const code = [
      '// postgres in a comment',
      '/** mysql in a doc comment */',
      "const scheme = 'postgresql:';",
      'const url = `mysql://${host}/x`;',
      'if (engine === "mariadb") mysqlOnly();',
    ].join('\n');
    expect(engineTokens(code)).toEqual(["'postgresql:'", '`mysql://${', '"mariadb"', 'mysqlOnly']);
    // The walk reads src/ and leaves src/dialects/ out.
    const counts = engineNamesOutsideDialects(root);
    expect(counts.size).toBeGreaterThan(0);
    expect([...counts.keys()].every((f) => f.startsWith('src/') && !f.startsWith('src/dialects/'))).toBe(
      true,
    );
  });
});

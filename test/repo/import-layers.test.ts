/**
 * Imports in src/ go downwards only and never in a cycle (docs/design.md section 1), as
 * .dependency-cruiser.js states the rules; `npm run lint` runs the same check (`depcruise src`).
 * The fixture tree shows that the rules catch what they are for: a type-only cycle, an upward
 * import, a cycle through an allowed one, and an excepted module's other upward imports.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const depcruise = path.join(root, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');
const config = path.join(root, '.dependency-cruiser.js');

interface Violation {
  readonly rule: { readonly name: string };
  readonly from: string;
  readonly to: string;
  readonly cycle?: readonly { readonly name: string }[];
}

interface CruiseResult {
  readonly summary: { readonly violations: readonly Violation[]; readonly totalCruised: number };
}

/** Runs dependency-cruiser on `dir`/src with the repository's rules. */
function cruise(dir: string): CruiseResult {
  const run = spawnSync(process.execPath, [depcruise, '--config', config, '--output-type', 'json', 'src'], {
    cwd: dir,
    encoding: 'utf8',
  });
  expect(run.stdout, run.stderr).not.toBe('');
  return JSON.parse(run.stdout) as CruiseResult;
}

/** One line per violation: rule, from, to (cycles: the modules around the cycle). */
function describeViolations(result: CruiseResult): string[] {
  return result.summary.violations
    .map((v) => `${v.rule.name}: ${v.from} -> ${v.cycle ? v.cycle.map((c) => c.name).join(' -> ') : v.to}`)
    .sort();
}

describe('imports in src/', () => {
  it('form no cycle and go downwards only', () => {
    const result = cruise(root);
    // It saw the program, not an empty tree: the engine interface and the CLI are among the modules.
    expect(result.summary.totalCruised).toBeGreaterThan(100);
    expect(describeViolations(result)).toEqual([]);
  });
});

describe('the import rules', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dbwarden-imports-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const files: Record<string, string> = {
    'tsconfig.json': JSON.stringify({
      compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext' },
    }),
    // A cycle of type-only imports.
    'src/plan/a.ts': "import type { B } from './b.js';\nexport interface A { b?: B }\n",
    'src/plan/b.ts': "import type { A } from './a.js';\nexport interface B { a?: A }\n",
    // An upward import: policy from runner.
    'src/policy/up.ts': "import { x } from '../runner/x.js';\nexport const y = x;\n",
    'src/runner/x.ts': 'export const x = 1;\n',
    // keyring <-> sdk is the one allowed cycle; keyring <-> keys is not.
    'src/secrets/keyring.ts':
      "import { s } from './sdk.js';\nimport { k } from './keys.js';\nexport const r = s + k;\nexport const n = 1;\n",
    'src/secrets/sdk.ts': "import { n } from './keyring.js';\nexport const s = n;\n",
    'src/secrets/keys.ts': "import { n } from './keyring.js';\nexport const k = n;\n",
    // config-file may still read the engine registry, but nothing else above it.
    'src/policy/config-file.ts':
      "import { e } from '../dialects/engines.js';\nimport { m } from '../cli/main.js';\nexport const c = e + m;\n",
    'src/dialects/engines.ts': 'export const e = 1;\n',
    'src/cli/main.ts': 'export const m = 1;\n',
  };
  for (const [file, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), text);
  }

  it('catch type-only cycles, upward imports, and what the known exceptions do not cover', () => {
    // Each cycle is reported once; keyring <-> sdk alone and config-file -> dialects/engines are allowed.
    expect(describeViolations(cruise(dir))).toEqual([
      'layer-policy-imports-downwards: src/policy/config-file.ts -> src/cli/main.ts',
      'layer-policy-imports-downwards: src/policy/up.ts -> src/runner/x.ts',
      'no-circular: src/plan/a.ts -> src/plan/b.ts -> src/plan/a.ts',
      'no-circular: src/secrets/keyring.ts -> src/secrets/keys.ts -> src/secrets/keyring.ts',
    ]);
  });
});

/**
 * The global output options (issue 15, point 13) and verify's --batch-size (point 10), in-process
 * on the fixture files: nothing here needs a server.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';

const root = path.resolve(import.meta.dirname, '../..');

async function run(argv: readonly string[], options: { tty?: boolean; env?: Record<string, string> } = {}) {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    env: options.env ?? {},
    cwd: root,
    stdoutTty: options.tty ?? false,
  });
  return { code, stdout, stderr };
}

// eslint-disable-next-line no-control-regex
const ESCAPE = /\u001b\[/;

describe('verify --batch-size', () => {
  it('is described as the --secrets option it is, and refused without --secrets', async () => {
    const help = await run(['verify', '--help']);
    expect(help.stdout).toMatch(/--batch-size <rows>\s+with --secrets: rows read and decrypted per batch/);
    const refused = await run([
      'verify',
      '--batch-size',
      '10',
      '--config',
      'test/fixtures/good/dbwarden.yaml',
    ]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--batch-size goes with --secrets');
  });
});

describe('global output options', () => {
  it('are listed in every command help', async () => {
    const help = await run(['plan', '--help']);
    for (const option of ['--no-color', '-q, --quiet', '--verbose']) expect(help.stdout).toContain(option);
  });

  it('--quiet and --verbose together are a usage error', async () => {
    const both = await run(['validate', '--quiet', '--verbose']);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/option '-q, --quiet' cannot be used with option '--verbose'/);
  });

  it('--quiet keeps validate errors on stderr and its verdict on stdout', async () => {
    const loud = await run(['validate', '--config', 'test/fixtures/broken-config/dbwarden.yaml']);
    const quiet = await run(['validate', '--quiet', '--config', 'test/fixtures/broken-config/dbwarden.yaml']);
    expect(loud.code).toBe(2);
    expect(quiet.code).toBe(2);
    expect(loud.stderr).not.toBe('');
    expect(quiet.stderr).toBe(loud.stderr);
    expect(quiet.stdout).not.toBe('');
    expect(loud.stdout.trimEnd().endsWith(quiet.stdout.trimEnd())).toBe(true);
  });

  it('no colour in JSON, help or schema output, even on a terminal with FORCE_COLOR', async () => {
    const env = { FORCE_COLOR: '1' };
    const json = await run(['validate', '--format', 'json', '--config', 'test/fixtures/good/dbwarden.yaml'], {
      tty: true,
      env,
    });
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: true });
    const schema = await run(['schema', 'policy'], { tty: true, env });
    expect(() => JSON.parse(schema.stdout) as unknown).not.toThrow();
    for (const out of [json.stdout, schema.stdout, (await run(['--help'], { tty: true, env })).stdout]) {
      expect(out).not.toBe('');
      expect(out).not.toMatch(ESCAPE);
    }
  });
});

/**
 * Runs the real dbwarden CLI (bin/dbwarden.js, compiled to dist/ by npm install) as a child
 * process and shows its output, line by line, under the current step.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { aborted } from './abort.js';
import type { Output } from './output.js';

const EXIT_MEANING: Record<number, string> = {
  1: 'runtime failure',
  2: 'invalid input',
  3: 'changes pending or verification failed',
};

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** bin/dbwarden.js, after checking that dist/ (which it imports) exists. */
export function cliEntry(repoRoot: string): string {
  const bin = path.join(repoRoot, 'bin', 'dbwarden.js');
  if (!fs.existsSync(path.join(repoRoot, 'dist', 'cli', 'run.js'))) {
    throw new Error(
      'dist/ is missing: the CLI is compiled by `npm install` (its prepare script); ' +
        'run `npm run build` to compile it, then npm start again',
    );
  }
  return bin;
}

/**
 * Runs `dbwarden <args>`; resolves with its stdout lines, rejects with CliError on a non-zero exit.
 * stderr is always shown as it comes; stdout too, unless the caller shows it itself (showStdout
 * false), and always when the command fails.
 */
export function runCli(
  repoRoot: string,
  args: readonly string[],
  out: Output,
  { showStdout = true }: { showStdout?: boolean } = {},
): Promise<string[]> {
  const bin = cliEntry(repoRoot);
  out.command(`dbwarden ${args.map((a) => (/^[\w./:=@-]+$/.test(a) ? a : `'${a}'`)).join(' ')}`);
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PG')) env[k] = v;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      cwd: repoRoot,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      signal: aborted,
    });
    const stdout: string[] = [];
    const done = Promise.all([
      new Promise<void>((r) =>
        readline
          .createInterface({ input: child.stdout })
          .on('line', (line) => {
            stdout.push(line);
            if (showStdout) out.cliLine(line, 'stdout');
          })
          .on('close', r),
      ),
      new Promise<void>((r) =>
        readline
          .createInterface({ input: child.stderr })
          .on('line', (line) => out.cliLine(line, 'stderr'))
          .on('close', r),
      ),
    ]);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      void done.then(() => {
        if (code !== 0 && !showStdout) for (const line of stdout) out.cliLine(line, 'stdout');
        if (code === 0) resolve(stdout);
        else if (code !== null) {
          const meaning = EXIT_MEANING[code] ?? 'failed';
          reject(new CliError(`dbwarden ${args[0] ?? ''} exited with ${code} (${meaning})`, code));
        } else reject(new CliError(`dbwarden ${args[0] ?? ''} was killed by ${signal ?? 'a signal'}`, 1));
      });
    });
  });
}

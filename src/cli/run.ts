/** Process entry point: real stdout/stderr/env, and the exit code. */
import { main } from './main.js';

process.exitCode = await main(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  cwd: process.cwd(),
  progressStream: process.stderr.isTTY ? process.stderr : undefined,
});

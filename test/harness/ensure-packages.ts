/**
 * `npm test` runs this first (package.json "test"; alone: `npm run test:setup`): makes sure the
 * machine has what the tests run, so the README's one command works on a fresh machine.
 *
 *   everything present   one line per requirement, no apt call, exit 0 (a probe: well under a second)
 *   missing, as root     apt-get install of the missing Debian packages (their services kept from
 *                        starting), probe again; exit 0, or 1 with what is still missing
 *   missing, not root    exit 1 with the one command that fixes it
 *
 * The decisions are in test-requirements.ts (unit-tested), the probes and apt-get in system-packages.ts.
 */
import { isRoot } from './server-common.js';
import { aptInstall, hasAptGet, probeMachine } from './system-packages.js';
import { ensurePackages } from './test-requirements.js';

process.exitCode = await ensurePackages({
  env: process.env,
  probe: probeMachine,
  isRoot: isRoot(),
  hasApt: hasAptGet(),
  install: aptInstall,
  say: (line) => process.stderr.write(`${line}\n`),
});

// @ts-check
/**
 * A store run in a process of its own, for the tests that kill it (kill.test.ts): runs the BUILT
 * facade (dist/, as the CLI does, with the migrations loaded from the package's migrations/) on the
 * job in DBWARDEN_STORE_JOB, and prints one line per event on stdout:
 *
 *   log <message>          what the store is doing
 *   progress <done> <total>  after each batch written
 *   done <json>            the result
 *
 * Key bytes arrive base64 in the job (a test's random keys), never on the command line.
 */
import { Buffer } from 'node:buffer';
import process from 'node:process';
import { URL } from 'node:url';

const store = await import(new URL('../../../dist/secrets/store/index.js', import.meta.url).href);
const keys = await import(new URL('../../../dist/secrets/keys.js', import.meta.url).href);

/** @type {{ command: 'upgrade' | 'downgrade', to?: string, keys: { id: string, key: string }[], target: unknown, secrets: unknown[], batchSize: number }} */
const job = JSON.parse(process.env.DBWARDEN_STORE_JOB ?? '{}');
const [current, ...previous] = job.keys.map((k) => keys.rawMasterKey(k.id, Buffer.from(k.key, 'base64')));
const keySet = keys.masterKeySet(current, previous);
const options = {
  batchSize: job.batchSize,
  progress: (/** @type {{ done: number, total: number }} */ p) =>
    process.stdout.write(`progress ${p.done} ${p.total}\n`),
  log: (/** @type {string} */ line) => process.stdout.write(`log ${line}\n`),
};
const result =
  job.command === 'upgrade'
    ? await store.upgradeSecrets(job.secrets, keySet, [job.target], options)
    : await store.downgradeSecrets(job.secrets, keySet, [job.target], job.to, options);
process.stdout.write(`done ${JSON.stringify(result)}\n`);

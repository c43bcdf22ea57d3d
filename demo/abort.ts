/**
 * One abort signal for the whole run: Ctrl-C (or SIGTERM, SIGHUP) aborts it, which kills every
 * child process the demo started with it (dbwarden, initdb, pg_ctl) and refuses new ones, so that
 * nothing writes into the temporary directory while it is being removed.
 */
const controller = new AbortController();

export const aborted: AbortSignal = controller.signal;

export function abortAll(): void {
  controller.abort();
}

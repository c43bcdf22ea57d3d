/**
 * Connection settings every engine's driver gets, for admin sessions and the
 * encrypted store's pools alike: one value, so the two cannot drift apart.
 */

/** How long a connection attempt may take before the target counts as unreachable. */
export const CONNECT_TIMEOUT_MS = 10_000;

/** Environment variables as dbwarden reads them (process.env, or a test's own): never written. */
export type Environment = Readonly<Record<string, string | undefined>>;

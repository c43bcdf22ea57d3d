/**
 * Which engines the shared integration scenarios (test/integration/engines/) run on:
 * DBWARDEN_TEST_ENGINES, a comma- or space-separated list, default every engine.
 *
 *   postgres (or postgresql, pg)   the PostgreSQL server of postgres.ts
 *   mysql    (or mariadb)          the MySQL-family server of mariadb.ts (MariaDB here, MySQL 8.4 from
 *                                  testcontainers): the same family, so either name selects it
 *
 * Read once by global-setup.ts, which starts only the servers selected (PostgreSQL always: the
 * PostgreSQL-only test files need it) and hands the list to the test files.
 */
export type EngineFamily = 'postgres' | 'mysql';

export const ENGINE_FAMILIES: readonly EngineFamily[] = ['postgres', 'mysql'];

const ALIASES: Readonly<Record<string, EngineFamily>> = {
  postgres: 'postgres',
  postgresql: 'postgres',
  pg: 'postgres',
  mysql: 'mysql',
  mariadb: 'mysql',
};

export interface EngineSelection {
  readonly families: readonly EngineFamily[];
  /** For the line on stderr: where the selection came from. */
  readonly reason: string;
}

export function selectedEngineFamilies(value = process.env.DBWARDEN_TEST_ENGINES): EngineSelection {
  if (value === undefined || value.trim() === '') {
    return { families: ENGINE_FAMILIES, reason: 'every engine; DBWARDEN_TEST_ENGINES unset' };
  }
  const families = new Set<EngineFamily>();
  for (const word of value.split(/[\s,]+/).filter((w) => w !== '')) {
    const family = ALIASES[word.toLowerCase()];
    if (family === undefined) {
      throw new Error(
        `DBWARDEN_TEST_ENGINES=${value}: "${word}" is not an engine; use ${Object.keys(ALIASES).join(', ')}`,
      );
    }
    families.add(family);
  }
  return {
    families: ENGINE_FAMILIES.filter((f) => families.has(f)),
    reason: `DBWARDEN_TEST_ENGINES=${value}`,
  };
}

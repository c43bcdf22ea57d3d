/** The one place that maps an engine to its store SQL (src/dialects/<engine>/secrets.ts). */
import { mysqlSecrets } from '../../dialects/mysql/secrets.js';
import { postgresSecrets } from '../../dialects/postgres/secrets.js';
import type { SecretsDialect, StoreEngine } from './dialect.js';

const STORE_DIALECTS: Readonly<Record<StoreEngine, SecretsDialect>> = {
  postgres: postgresSecrets,
  mysql: mysqlSecrets,
};

export function storeDialect(engine: StoreEngine): SecretsDialect {
  return STORE_DIALECTS[engine];
}

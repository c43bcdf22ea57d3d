/**
 * The registry of supported engines: the one place that knows which dialect
 * module serves which engine and URL scheme.
 */
import type { EngineName } from '../policy/model.js';
import type { IdentifierRules } from './identifier-rules.js';
import { mysqlIdentifierRules } from './mysql/identifiers.js';
import { postgresIdentifierRules } from './postgres/identifiers.js';

const ENGINE_BY_SCHEME: Readonly<Record<string, EngineName>> = {
  postgres: 'postgres',
  postgresql: 'postgres',
  mysql: 'mysql',
  mariadb: 'mysql',
};

export const SUPPORTED_URL_SCHEMES = Object.keys(ENGINE_BY_SCHEME);

export const IDENTIFIER_RULES: Readonly<Record<EngineName, IdentifierRules>> = {
  postgres: postgresIdentifierRules,
  mysql: mysqlIdentifierRules,
};

export const ALL_ENGINES = Object.keys(IDENTIFIER_RULES) as EngineName[];

/** The URL's scheme, without reading the rest of it (the rest may hold a password). */
export function urlScheme(url: string): string | undefined {
  return /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(url)?.[1]?.toLowerCase();
}

export function engineForScheme(scheme: string): EngineName | undefined {
  // Own keys only: `constructor://` must not find Object.prototype.constructor.
  return Object.hasOwn(ENGINE_BY_SCHEME, scheme) ? ENGINE_BY_SCHEME[scheme] : undefined;
}

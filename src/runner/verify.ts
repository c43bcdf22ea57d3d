/**
 * `verify`: log in as every component with its own credentials and compare
 * what it can do with what its policy says, no more and no less.
 */
import { DbwardenError } from '../errors.js';
import { desiredState } from '../plan/desired.js';
import {
  privilegeDifferences,
  expectedPrivileges,
  type PrivilegeDifference,
  schemasOf,
} from '../plan/expected.js';
import type { Catalog, DesiredComponent } from '../plan/types.js';
import type { Deployment } from '../policy/model.js';
import { credentialFileFor, credentialStore } from './credentials.js';
import { readCatalog } from './snapshot.js';
import { closeTargets, type OpenTarget, openTargets } from './targets.js';

export interface TargetVerification {
  readonly target: string;
  readonly differences: readonly PrivilegeDifference[];
  /** Why the login's privileges could not be read (no credentials, login refused, ...). */
  readonly error: string | undefined;
}

export interface ComponentVerification {
  readonly component: string;
  readonly login: string;
  /** Targets the component uses; empty for components without databases. */
  readonly targets: readonly TargetVerification[];
  /** For components without databases: clusters where their login exists and can log in. */
  readonly unexpectedLogin: readonly string[];
  readonly ok: boolean;
}

export interface VerifyResult {
  readonly app: string;
  readonly components: readonly ComponentVerification[];
  readonly ok: boolean;
}

export async function runVerify(
  deployment: Deployment,
  log: (message: string) => void,
): Promise<VerifyResult> {
  const desired = desiredState(deployment);
  const store = credentialStore(deployment, log);
  const targets = await openTargets(deployment.config.targets);
  try {
    const catalog = await readCatalog(desired, targets);
    const components: ComponentVerification[] = [];
    for (const component of desired.components) {
      if (component.databases.length === 0) {
        components.push(verifyNoLogin(component, catalog));
        continue;
      }
      const file = await store.read(component.component);
      // Connection details come from the config, never from the file: the file only gives the
      // password, and a URL in it that the config would not write is reported, not followed.
      const expected = file && credentialFileFor(component, file.password, targets);
      const results: TargetVerification[] = [];
      for (const t of targets.filter((t) => component.databases.some((db) => db.kind === t.target.kind))) {
        const url = expected?.targets[t.target.name]?.url;
        const problem =
          url === undefined || file?.targets[t.target.name] === undefined
            ? `no credentials for this target in ${store.path(component.component)}: run dbwarden apply`
            : file.targets[t.target.name]?.url !== url
              ? `the URL for this target in ${store.path(component.component)} is not the one the config gives (host, port, database, login or options differ); not used: run dbwarden apply to rewrite it`
              : undefined;
        results.push(
          problem !== undefined || url === undefined
            ? { target: t.target.name, differences: [], error: problem }
            : await verifyTarget(component, t, url, catalog),
        );
      }
      components.push({
        component: component.component,
        login: component.login,
        targets: results,
        unexpectedLogin: [],
        ok: results.every((r) => r.error === undefined && r.differences.length === 0),
      });
    }
    return { app: desired.app, components, ok: components.every((c) => c.ok) };
  } finally {
    await closeTargets(targets);
  }
}

async function verifyTarget(
  component: DesiredComponent,
  open: OpenTarget,
  url: string,
  catalog: Catalog,
): Promise<TargetVerification> {
  const name = open.target.name;
  const targetCatalog = catalog.targets[name];
  if (!targetCatalog) throw new TypeError(`catalog lacks target ${name}`);
  const desiredTarget = { name, kind: open.target.kind };
  try {
    const actual = await open.dialect.effectivePrivileges(
      url,
      name,
      schemasOf(component, desiredTarget, targetCatalog.defaultSchema),
    );
    const expected = expectedPrivileges(component, desiredTarget, targetCatalog);
    return { target: name, differences: privilegeDifferences(expected, actual), error: undefined };
  } catch (err) {
    if (err instanceof DbwardenError) return { target: name, differences: [], error: err.message };
    throw err;
  }
}

/** A component without databases must have no login anywhere (nova-compute goes through conductor). */
function verifyNoLogin(component: DesiredComponent, catalog: Catalog): ComponentVerification {
  const clusters = Object.entries(catalog.clusters)
    .filter(([, c]) => c.roles.some((r) => r.name === component.login && r.canLogin))
    .map(([id]) => id);
  return {
    component: component.component,
    login: component.login,
    targets: [],
    unexpectedLogin: clusters,
    ok: clusters.length === 0,
  };
}

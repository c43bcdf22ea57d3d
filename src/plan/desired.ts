import type { Deployment } from '../policy/model.js';
import { grantRoleName, loginName } from '../policy/names.js';
import { compareText } from '../util/compare.js';
import type { DesiredState } from './types.js';

/** The state the policies ask for, in the planner's terms. Pure. */
export function desiredState(deployment: Deployment): DesiredState {
  const { app } = deployment.config;
  return {
    app,
    components: deployment.policies
      .map((p) => ({
        component: p.component,
        login: loginName(app, p.component),
        role: grantRoleName(app, p.component),
        databases: p.databases,
      }))
      .sort((a, b) => compareText(a.component, b.component)),
    targets: deployment.config.targets
      .map((t) => ({ name: t.name, kind: t.kind }))
      .sort((a, b) => compareText(a.name, b.name)),
    hardenPublic: deployment.config.hardenPublic,
    accounts: deployment.config.mysql,
  };
}

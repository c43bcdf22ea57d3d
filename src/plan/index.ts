export { desiredState } from './desired.js';
export { type MissingObject, missingObjects } from './missing.js';
export { PlanInputError, plan } from './plan.js';
export { type RoleCollision, RoleCollisionError, roleCollisions } from './ownership.js';
// applyChanges (the simulator) is for tests only: src/internal.ts.
export { SimulationError } from './simulate.js';
export type * from './types.js';
export { PUBLIC_GRANTEE } from './types.js';

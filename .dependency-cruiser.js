// @ts-check
/**
 * Import rules for src/ (docs/design.md section 1), checked by `npm run lint` and by
 * test/repo/import-layers.test.ts (so `npm test` fails too):
 *
 *   - no import cycles, type-only imports included (a type cycle still ties two modules together:
 *     neither can move or be understood without the other);
 *   - layers import downwards only. Bottom to top:
 *       base         src/errors.ts, src/util/, src/policy/diagnostics.ts (file positions and messages
 *                    that errors.ts carries; it imports only util)
 *       policy       src/policy/
 *       plan         src/plan/
 *       crypto       src/secrets/ outside store/
 *       dialects     src/dialects/
 *       store        src/secrets/store/
 *       credentials  src/credentials/
 *       runner       src/runner/
 *       cli          src/cli/
 *       public API   src/index.ts, and src/internal.ts (tests and bench only)
 *
 * KNOWN_EXCEPTIONS below lists the imports that still break these rules, each with why it is
 * still there; the list may only shrink.
 *
 * Run alone: `npx depcruise src`.
 */

/** Layers, bottom to top: a module may import from its own layer and the ones before it. */
const LAYERS = [
  { name: 'base', path: '^src/(errors\\.ts$|util/|policy/diagnostics\\.ts$)' },
  { name: 'policy', path: '^src/policy/(?!diagnostics\\.ts$)' },
  { name: 'plan', path: '^src/plan/' },
  { name: 'crypto', path: '^src/secrets/(?!store/)' },
  { name: 'dialects', path: '^src/dialects/' },
  { name: 'store', path: '^src/secrets/store/' },
  { name: 'credentials', path: '^src/credentials/' },
  { name: 'runner', path: '^src/runner/' },
  { name: 'cli', path: '^src/cli/' },
  { name: 'public API', path: '^src/(index|internal)\\.ts$' },
];

/**
 * Imports that break the rules today (issue 16, being reworked on their own branches). Each is
 * `from` -> `to` regexes; the rules below skip exactly these.
 */
const KNOWN_EXCEPTIONS = {
  /**
   * keyring.ts <-> sdk.ts: the keyring loads the Encryption SDK lazily (import('./sdk.js')) and
   * names its type; sdk.ts reads KEY_NAMESPACE back from keyring.ts. src/secrets/ is being
   * reworked on the store branch; the fix is moving KEY_NAMESPACE (and SUITE_ID) to a module
   * both import. Only a cycle made of these two modules alone is allowed.
   */
  cycle: '^src/secrets/(keyring|sdk)\\.ts$',
  upward: [
    /**
     * Config validation reads target URLs through the engine registry (which schemes exist,
     * which engine a URL names, which database it addresses, identifier rules): policy must get
     * these from the engine objects of issue 16 point 1 instead of importing src/dialects/.
     */
    {
      layer: 'policy',
      from: '^src/policy/(config-file|deployment)\\.ts$',
      to: '^src/dialects/(engines|database-address)\\.ts$',
    },
    /**
     * The store's SQL lives in src/dialects/ but still takes its types and table layout from
     * src/secrets/store/ (issue 16 point 1: the store must depend on the engine interface, not
     * the other way round). Being reworked on the store branch.
     */
    {
      layer: 'dialects',
      from: '^src/dialects/(store-sql|postgres/secrets|mysql/secrets)\\.ts$',
      to: '^src/secrets/store/(dialect|tables|types)\\.ts$',
    },
  ],
};

/** The paths of the layers above `name`. */
function above(name) {
  return LAYERS.slice(LAYERS.findIndex((l) => l.name === name) + 1).map((l) => l.path);
}

/**
 * One rule per layer: nothing in it may import from a layer above it. A module with a known
 * exception gets its own rule that skips only the excepted imports.
 */
function layerRules() {
  const excepted = KNOWN_EXCEPTIONS.upward.map((e) => e.from);
  const rules = LAYERS.slice(0, -1).map((layer) => ({
    name: `layer-${layer.name}-imports-downwards`,
    comment: `${layer.name} must not import from the layers above it (docs/design.md section 1)`,
    severity: /** @type {const} */ ('error'),
    from: { path: layer.path, pathNot: excepted },
    to: { path: above(layer.name) },
  }));
  const exceptions = KNOWN_EXCEPTIONS.upward.map((e) => ({
    name: `layer-${e.layer}-imports-downwards`,
    comment: `${e.layer} must not import from the layers above it, except the known ${e.to}`,
    severity: /** @type {const} */ ('error'),
    from: { path: e.from },
    to: { path: above(e.layer), pathNot: e.to },
  }));
  return [...rules, ...exceptions];
}

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'Import cycles (type-only imports included): move the shared part to the lower module',
      severity: 'error',
      from: {},
      to: { circular: true, via: { pathNot: KNOWN_EXCEPTIONS.cycle } },
    },
    ...layerRules(),
  ],
  allowed: undefined,
  options: {
    // Type-only imports count: they are dependencies between modules too.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
  },
};

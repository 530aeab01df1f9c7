/*
 * The backend plugin's dependency rules, checked by `yarn lint:all` in CI:
 *
 * - no import cycle between files (import/no-cycle);
 * - folders depend one way (import/no-restricted-paths): what sits lower (stores, the saga
 *   engine, pure decisions) never imports what is built on it (services, the API, wiring).
 *
 * The layers, from the bottom: context, database, errors, events, audit, idempotency,
 * drivers, health, resources (the resource store), operations → gitops, scheduling →
 * governance → orchestration, deployments, observability → requests → reconciler, clusters →
 * api → controlPlane, background, plugin.
 */
const src = './src';
/** Every path as a glob (the rule wants `from` all globs or none): a folder, its files. */
const glob = path => {
  if (/[*!{@]/.test(path)) return `${src}/${path}`;
  if (path.endsWith('.ts')) return `${src}/${path.replace(/\.ts$/, '.@(ts)')}`;
  return `${src}/${path}/**`;
};
const zone = (target, from, message) => ({
  target: glob(target),
  from: (Array.isArray(from) ? from : [from]).map(glob),
  message,
});

module.exports = require('@backstage/cli/config/eslint-factory')(__dirname, {
  // Lookups by name go through a Map or Object.hasOwn (scripts/lib/eslint-lookups.js).
  restrictedSyntax: require('../../scripts/lib/eslint-lookups'),
  settings: {
    'import/parsers': { '@typescript-eslint/parser': ['.ts', '.tsx'] },
    'import/resolver': { node: { extensions: ['.ts', '.tsx', '.js'] } },
  },
  rules: {
    'import/no-cycle': ['error', { ignoreExternal: true }],
  },
  // Tests and test utilities may wire the whole control plane.
  overrides: [
    {
      files: ['src/**/*.ts'],
      excludedFiles: [
        '**/*.test.ts',
        'src/__testUtils__/**',
        'src/**/__testUtils__/**',
      ],
      rules: {
        'import/no-restricted-paths': [
          'error',
          {
            zones: [
              zone(
                '!(api|plugin.ts|background.ts|controlPlane.ts|__testUtils__)/**',
                ['api', 'plugin.ts', 'background.ts', 'controlPlane.ts'],
                'only the wiring (plugin, background, controlPlane) and the API are built on the API and the wiring',
              ),
              zone(
                '**/*Store.ts',
                [
                  '**/*Service.ts',
                  'requests',
                  'reconciler',
                  'orchestration/@(SagaEngine|OperationRun|sagas|steps).ts',
                  'scheduling/Scheduler.ts',
                  'governance/QuotaGuard.ts',
                ],
                'a store imports no service: services ask stores, never the other way round',
              ),
              zone(
                'scheduling',
                'governance',
                'scheduling does not import governance: it is the lower layer',
              ),
              zone(
                '!(requests|api|reconciler|clusters|__testUtils__)/**',
                'requests',
                'requests (ResourceService) sit above gitops, stores and the engine; the reconciler and the cluster lifecycle (a drain migrates resources) use them',
              ),
              zone(
                'resources',
                [
                  'gitops',
                  'requests',
                  'orchestration',
                  'reconciler',
                  'governance',
                  'scheduling',
                ],
                'the resource store is below gitops, scheduling and the engine',
              ),
              zone(
                'gitops',
                [
                  'orchestration',
                  'reconciler',
                  'scheduling',
                  'governance/!(*.test).ts',
                ],
                'gitops is below scheduling, governance, the engine and the reconciler',
              ),
              zone(
                'orchestration',
                ['reconciler', 'observability'],
                'the saga engine is below the reconciler and observability (they observe it)',
              ),
              zone(
                'audit',
                [
                  'gitops',
                  'resources',
                  'operations',
                  'orchestration',
                  'reconciler',
                  'requests',
                  'governance',
                  'scheduling',
                ],
                'the audit log depends on no domain',
              ),
            ],
          },
        ],
      },
    },
  ],
});

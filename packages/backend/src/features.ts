/*
 * What the example backend runs, in two lists: a stock Backstage backend, and the control
 * plane installed the way an adopter would install it, one feature per package. The
 * footprint benchmark (`yarn bench footprint`) starts the first list with and without the
 * second.
 */
import type { BackendFeature } from '@backstage/backend-plugin-api';
import {
  catalogModuleLocalRepositories,
  scaffolderModuleLocalRepositories,
} from './modules/localRepositories';

/** A feature, loaded only when added. */
export type LazyFeature = () =>
  | BackendFeature
  | Promise<{ default: BackendFeature }>;

/** Backstage itself: app, auth, catalog, scaffolder, permissions, notifications. */
export const backstageFeatures: LazyFeature[] = [
  () => import('@backstage/plugin-app-backend'),

  // auth: guest sign-in for local use, OpenID Connect for real use (app-config.production.yaml)
  () => import('@backstage/plugin-auth-backend'),
  () => import('@backstage/plugin-auth-backend-module-guest-provider'),
  () => import('@backstage/plugin-auth-backend-module-oidc-provider'),

  () => import('@backstage/plugin-catalog-backend'),
  () =>
    import('@backstage/plugin-catalog-backend-module-scaffolder-entity-model'),
  () => import('@backstage/plugin-catalog-backend-module-logs'),

  () => import('@backstage/plugin-scaffolder-backend'),
  () => import('@backstage/plugin-scaffolder-backend-module-notifications'),
  // publish:local and catalog:register:local: this instance has no GitHub to publish to
  () => scaffolderModuleLocalRepositories,
  () => catalogModuleLocalRepositories,

  () => import('@backstage/plugin-permission-backend'),

  // notifications, signals, user settings
  () => import('@backstage/plugin-notifications-backend'),
  () => import('@backstage/plugin-signals-backend'),
  () => import('@backstage/plugin-user-settings-backend'),
];

/** The control plane: its plugin, and its modules for the catalog, scaffolder and permissions. */
export const controlPlaneFeatures: LazyFeature[] = [
  // the control plane's resources as catalog Resource entities
  () => import('@idp-multicloud/plugin-catalog-backend-module-control-plane'),
  // the control plane's scaffolder actions
  () =>
    import('@idp-multicloud/plugin-scaffolder-backend-module-control-plane'),
  // the control plane's roles (developer, platform engineer, admin)
  () =>
    import(
      '@idp-multicloud/plugin-permission-backend-module-control-plane-policy'
    ),

  // the control plane, acting on the simulated multicloud (a simulator: see its README)
  () => import('@idp-multicloud/plugin-control-plane-backend'),
  () => import('@idp-multicloud/plugin-control-plane-backend-module-simulator'),
  // the simulator's workloads: traffic split between versions, and their metrics, for
  // deployments (canary analysis) on the embedded default
  async () => {
    // a named export of a CommonJS package reaches a dynamic import under `default`
    const m: any = await import(
      '@idp-multicloud/plugin-control-plane-backend-module-simulator'
    );
    return {
      default:
        m.controlPlaneModuleSimulatorWorkloads ??
        m.default.controlPlaneModuleSimulatorWorkloads,
    };
  },
  // deployment analysis through a real Prometheus: inert until controlPlane.prometheus.baseUrl
  // is set (see the module's README)
  () =>
    import('@idp-multicloud/plugin-control-plane-backend-module-prometheus'),
  // policies in Open Policy Agent besides the built-in ones: inert until
  // controlPlane.opa.baseUrl is set (see the module's README)
  () => import('@idp-multicloud/plugin-control-plane-backend-module-opa'),
  // changes that need review as pull requests on GitHub: inert until controlPlane.github.owner
  // and .repo are set (see the module's README)
  () => import('@idp-multicloud/plugin-control-plane-backend-module-github'),
  // what runs on each cluster rendered for Argo CD or Flux, their verdict read back: inert
  // until controlPlane.delivery is set (see the module's README and docs/argocd-flux.md)
  () => import('@idp-multicloud/plugin-control-plane-backend-module-gitops'),
];

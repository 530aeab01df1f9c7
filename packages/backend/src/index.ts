/*
 * The example backend: a stock Backstage backend with the control plane installed the way an
 * adopter would install it, one `backend.add` per package.
 */
import { createBackend } from '@backstage/backend-defaults';
import {
  catalogModuleLocalRepositories,
  scaffolderModuleLocalRepositories,
} from './modules/localRepositories';

const backend = createBackend();

backend.add(import('@backstage/plugin-app-backend'));

// auth: guest sign-in for local use, OpenID Connect for real use (app-config.production.yaml)
backend.add(import('@backstage/plugin-auth-backend'));
backend.add(import('@backstage/plugin-auth-backend-module-guest-provider'));
backend.add(import('@backstage/plugin-auth-backend-module-oidc-provider'));

// catalog, with the control plane's resources as Resource entities
backend.add(import('@backstage/plugin-catalog-backend'));
backend.add(
  import('@backstage/plugin-catalog-backend-module-scaffolder-entity-model'),
);
backend.add(import('@backstage/plugin-catalog-backend-module-logs'));
backend.add(
  import('@idp-multicloud/plugin-catalog-backend-module-control-plane'),
);

// scaffolder, with the control plane's actions
backend.add(import('@backstage/plugin-scaffolder-backend'));
backend.add(
  import('@backstage/plugin-scaffolder-backend-module-notifications'),
);
backend.add(
  import('@idp-multicloud/plugin-scaffolder-backend-module-control-plane'),
);
// publish:local and catalog:register:local: this instance has no GitHub to publish to
backend.add(scaffolderModuleLocalRepositories);
backend.add(catalogModuleLocalRepositories);

// permissions: the control plane's roles (developer, platform engineer, admin)
backend.add(import('@backstage/plugin-permission-backend'));
backend.add(
  import(
    '@idp-multicloud/plugin-permission-backend-module-control-plane-policy'
  ),
);

// notifications, signals, user settings
backend.add(import('@backstage/plugin-notifications-backend'));
backend.add(import('@backstage/plugin-signals-backend'));
backend.add(import('@backstage/plugin-user-settings-backend'));

// the control plane, acting on the simulated multicloud (a simulator: see its README)
backend.add(import('@idp-multicloud/plugin-control-plane-backend'));
backend.add(
  import('@idp-multicloud/plugin-control-plane-backend-module-simulator'),
);
// policies in Open Policy Agent besides the built-in ones: inert until controlPlane.opa.baseUrl
// is set (see the module's README)
backend.add(import('@idp-multicloud/plugin-control-plane-backend-module-opa'));
backend.start();

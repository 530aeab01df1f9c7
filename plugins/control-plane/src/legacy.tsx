import {
  createApiFactory,
  createComponentExtension,
  createPlugin,
  createRoutableExtension,
  createRouteRef,
  discoveryApiRef,
  fetchApiRef,
} from '@backstage/core-plugin-api';
import { ControlPlaneClient, controlPlaneApiRef } from './api';

const legacyRootRouteRef = createRouteRef({ id: 'control-plane' });
const legacySelfServiceRouteRef = createRouteRef({
  id: 'control-plane-self-service',
});
const legacyFleetRouteRef = createRouteRef({ id: 'control-plane-fleet' });
const legacyAuditRouteRef = createRouteRef({ id: 'control-plane-audit' });
const legacyDefinitionChangesRouteRef = createRouteRef({
  id: 'control-plane-definition-changes',
});

/**
 * The plugin for Backstage instances still on the old frontend system.
 *
 * @remarks
 * Mount its pages in the app's routes (for example `ControlPlaneFleetPage` at
 * `/control-plane/fleet`) and add `EntityControlPlaneContent` to the entity pages of
 * components, systems and groups.
 * @public
 */
export const controlPlaneLegacyPlugin = createPlugin({
  id: 'control-plane',
  apis: [
    createApiFactory({
      api: controlPlaneApiRef,
      deps: { discoveryApi: discoveryApiRef, fetchApi: fetchApiRef },
      factory: deps => new ControlPlaneClient(deps),
    }),
  ],
  routes: {
    root: legacyRootRouteRef,
    selfService: legacySelfServiceRouteRef,
    fleet: legacyFleetRouteRef,
    audit: legacyAuditRouteRef,
    definitionChanges: legacyDefinitionChangesRouteRef,
  },
});

/**
 * The control plane's health page (old frontend system).
 * @public
 */
export const ControlPlaneHealthPage = controlPlaneLegacyPlugin.provide(
  createRoutableExtension({
    name: 'ControlPlaneHealthPage',
    component: () =>
      import('./components/ControlPlanePage').then(m => m.ControlPlanePage),
    mountPoint: legacyRootRouteRef,
  }),
);

/**
 * The self-service catalog page (old frontend system).
 * @public
 */
export const ControlPlaneSelfServicePage = controlPlaneLegacyPlugin.provide(
  createRoutableExtension({
    name: 'ControlPlaneSelfServicePage',
    component: () =>
      import('./components/SelfServicePage').then(m => m.SelfServicePage),
    mountPoint: legacySelfServiceRouteRef,
  }),
);

/**
 * The fleet page (old frontend system).
 * @public
 */
export const ControlPlaneFleetPage = controlPlaneLegacyPlugin.provide(
  createRoutableExtension({
    name: 'ControlPlaneFleetPage',
    component: () => import('./components/FleetPage').then(m => m.FleetPage),
    mountPoint: legacyFleetRouteRef,
  }),
);

/**
 * The audit page (old frontend system).
 * @public
 */
export const ControlPlaneAuditPage = controlPlaneLegacyPlugin.provide(
  createRoutableExtension({
    name: 'ControlPlaneAuditPage',
    component: () => import('./components/AuditPage').then(m => m.AuditPage),
    mountPoint: legacyAuditRouteRef,
  }),
);

/**
 * Breaking changes of definitions and deprecations (old frontend system); mount it at
 * `/control-plane/definition-changes`, where the owners' notifications lead.
 * @public
 */
export const ControlPlaneDefinitionChangesPage =
  controlPlaneLegacyPlugin.provide(
    createRoutableExtension({
      name: 'ControlPlaneDefinitionChangesPage',
      component: () =>
        import('./components/DefinitionChangesPage').then(
          m => m.DefinitionChangesPage,
        ),
      mountPoint: legacyDefinitionChangesRouteRef,
    }),
  );

/**
 * The "Infrastructure" entity content (old frontend system): put it in an
 * `EntityLayout.Route path="/infrastructure" title="Infrastructure"` of components, systems
 * and groups.
 * @public
 */
export const EntityControlPlaneContent = controlPlaneLegacyPlugin.provide(
  createComponentExtension({
    name: 'EntityControlPlaneContent',
    component: {
      lazy: () =>
        import('./components/EntityInfrastructureContent').then(
          m => m.EntityInfrastructureContent,
        ),
    },
  }),
);

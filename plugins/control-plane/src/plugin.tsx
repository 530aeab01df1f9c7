import {
  ApiBlueprint,
  createFrontendPlugin,
  discoveryApiRef,
  fetchApiRef,
  PageBlueprint,
} from '@backstage/frontend-plugin-api';
import { EntityContentBlueprint } from '@backstage/plugin-catalog-react/alpha';
import CloudQueueIcon from '@material-ui/icons/CloudQueue';
import HistoryIcon from '@material-ui/icons/History';
import StorageIcon from '@material-ui/icons/Storage';
import ShoppingCartIcon from '@material-ui/icons/ShoppingCart';
import { ControlPlaneClient, controlPlaneApiRef } from './api';
import {
  auditRouteRef,
  definitionChangesRouteRef,
  fleetRouteRef,
  rootRouteRef,
  scaffolderRootRouteRef,
  scaffolderTemplateRouteRef,
  selfServiceRouteRef,
} from './routes';

/**
 * Provides the {@link ControlPlaneApi}, backed by the SDK.
 * @public
 */
export const controlPlaneApi = ApiBlueprint.make({
  params: defineParams =>
    defineParams({
      api: controlPlaneApiRef,
      deps: { discoveryApi: discoveryApiRef, fetchApi: fetchApiRef },
      factory: deps => new ControlPlaneClient(deps),
    }),
});

/**
 * The "Control Plane" page: is the control plane up, on which database, how migrated.
 * @public
 */
export const controlPlanePage = PageBlueprint.make({
  params: {
    path: '/control-plane',
    title: 'Control Plane',
    icon: <CloudQueueIcon />,
    routeRef: rootRouteRef,
    loader: () =>
      import('./components/ControlPlanePage').then(m => <m.ControlPlanePage />),
  },
});

/**
 * The self-service catalog: products, tiers, prices, and the templates that request them.
 * @public
 */
export const controlPlaneSelfServicePage = PageBlueprint.make({
  name: 'self-service',
  params: {
    path: '/control-plane/self-service',
    title: 'Self-service',
    icon: <ShoppingCartIcon />,
    routeRef: selfServiceRouteRef,
    loader: () =>
      import('./components/SelfServicePage').then(m => <m.SelfServicePage />),
  },
});

/**
 * The fleet: cells, providers (health, circuit breaker) and clusters.
 * @public
 */
export const controlPlaneFleetPage = PageBlueprint.make({
  name: 'fleet',
  params: {
    path: '/control-plane/fleet',
    title: 'Fleet',
    icon: <StorageIcon />,
    routeRef: fleetRouteRef,
    loader: () => import('./components/FleetPage').then(m => <m.FleetPage />),
  },
});

/**
 * The audit log and the check of its hash chain.
 * @public
 */
export const controlPlaneAuditPage = PageBlueprint.make({
  name: 'audit',
  params: {
    path: '/control-plane/audit',
    title: 'Audit',
    icon: <HistoryIcon />,
    routeRef: auditRouteRef,
    loader: () => import('./components/AuditPage').then(m => <m.AuditPage />),
  },
});

/**
 * Breaking changes of product definitions with their migration guides, and deprecations
 * with who still uses them (where owners' notifications lead).
 * @public
 */
export const controlPlaneDefinitionChangesPage = PageBlueprint.make({
  name: 'definition-changes',
  params: {
    path: '/control-plane/definition-changes',
    title: 'Definition changes',
    icon: <HistoryIcon />,
    routeRef: definitionChangesRouteRef,
    loader: () =>
      import('./components/DefinitionChangesPage').then(m => (
        <m.DefinitionChangesPage />
      )),
  },
});

/**
 * The "Infrastructure" tab of components, systems and groups.
 * @public
 */
export const entityControlPlaneResourcesContent = EntityContentBlueprint.make({
  name: 'resources',
  params: {
    path: '/infrastructure',
    title: 'Infrastructure',
    filter: 'kind:component,system,group',
    loader: () =>
      import('./components/EntityInfrastructureContent').then(m => (
        <m.EntityInfrastructureContent />
      )),
  },
});

/**
 * The IDP Multicloud control plane frontend plugin.
 * @public
 */
export const controlPlanePlugin = createFrontendPlugin({
  pluginId: 'control-plane',
  title: 'Control Plane',
  icon: <CloudQueueIcon />,
  extensions: [
    controlPlaneApi,
    controlPlanePage,
    controlPlaneSelfServicePage,
    controlPlaneFleetPage,
    controlPlaneAuditPage,
    controlPlaneDefinitionChangesPage,
    entityControlPlaneResourcesContent,
  ],
  routes: {
    root: rootRouteRef,
    selfService: selfServiceRouteRef,
    fleet: fleetRouteRef,
    audit: auditRouteRef,
    definitionChanges: definitionChangesRouteRef,
  },
  externalRoutes: {
    /** The scaffolder's page of a template, where "Request" leads. */
    scaffolderTemplate: scaffolderTemplateRouteRef,
    /** The scaffolder's list of templates. */
    scaffolderRoot: scaffolderRootRouteRef,
  },
});

import {
  ApiBlueprint,
  createFrontendPlugin,
  discoveryApiRef,
  fetchApiRef,
  PageBlueprint,
} from '@backstage/frontend-plugin-api';
import CloudQueueIcon from '@material-ui/icons/CloudQueue';
import { ControlPlaneClient, controlPlaneApiRef } from './api';
import { rootRouteRef } from './routes';

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
 * The "Control Plane" page, linked from the sidebar.
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
 * The IDP Multicloud control plane frontend plugin.
 * @public
 */
export const controlPlanePlugin = createFrontendPlugin({
  pluginId: 'control-plane',
  title: 'Control Plane',
  icon: <CloudQueueIcon />,
  extensions: [controlPlaneApi, controlPlanePage],
  routes: {
    root: rootRouteRef,
  },
});

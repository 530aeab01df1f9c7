import {
  coreServices,
  createBackendModule,
} from '@backstage/backend-plugin-api';
import { Config } from '@backstage/config';
import { controlPlaneTrafficRoutersExtensionPoint } from '@idp-multicloud/plugin-control-plane-node';
import { readKubernetesDriverOptions } from './config';
import { GatewayApiTrafficRouter } from './GatewayApiTrafficRouter';
import { GatewayApiRoutingOptions } from './httpRoute';

/**
 * Reads `controlPlane.kubernetes.traffic` (see config.d.ts); undefined when it names no
 * gateway.
 * @public
 */
export function readGatewayApiRoutingOptions(
  config: Config,
): (GatewayApiRoutingOptions & { cellOf: Map<string, string> }) | undefined {
  const traffic = config.getOptionalConfig('controlPlane.kubernetes.traffic');
  const parentRefs = (traffic?.getOptionalConfigArray('parentRefs') ?? []).map(
    p => ({
      name: p.getString('name'),
      ...(p.has('namespace') ? { namespace: p.getString('namespace') } : {}),
      ...(p.has('sectionName')
        ? { sectionName: p.getString('sectionName') }
        : {}),
    }),
  );
  if (!traffic || parentRefs.length === 0) return undefined;
  const cells = traffic.getOptionalConfig('cells');
  const cellOf = new Map(
    (cells?.keys() ?? []).map(cluster => [cluster, cells!.getString(cluster)]),
  );
  return { parentRefs, port: traffic.getOptionalNumber('port'), cellOf };
}

/**
 * Adds the `gateway-api` traffic router to the control plane: canary weights and header
 * matches as Gateway API `HTTPRoute`s on the clusters of `controlPlane.kubernetes.clusters`,
 * attached to the gateways of `controlPlane.kubernetes.traffic.parentRefs`. Without gateways it
 * adds nothing. Needs a control plane that offers the traffic-router extension point.
 * @public
 */
export const controlPlaneModuleKubernetesTraffic = createBackendModule({
  pluginId: 'control-plane',
  moduleId: 'kubernetes-traffic',
  register(reg) {
    reg.registerInit({
      deps: {
        config: coreServices.rootConfig,
        logger: coreServices.logger,
        trafficRouters: controlPlaneTrafficRoutersExtensionPoint,
      },
      async init({ config, logger, trafficRouters }) {
        const routing = readGatewayApiRoutingOptions(config);
        if (!routing) {
          logger.info(
            'No Gateway API traffic router: controlPlane.kubernetes.traffic.parentRefs names no gateway',
          );
          return;
        }
        const { clusters } = readKubernetesDriverOptions(config);
        trafficRouters.addTrafficRouter(
          new GatewayApiTrafficRouter({ ...routing, clusters, logger }),
        );
        logger.info(
          `Gateway API traffic router: HTTPRoutes on ${
            clusters.map(c => c.name).join(', ') || 'no cluster'
          }, ` +
            `attached to ${routing.parentRefs.map(p => p.name).join(', ')}`,
        );
      },
    });
  },
});

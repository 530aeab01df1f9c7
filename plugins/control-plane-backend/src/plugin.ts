import { notificationService } from '@backstage/plugin-notifications-node';
import {
  coreServices,
  createBackendPlugin,
} from '@backstage/backend-plugin-api';
import {
  controlPlanePermissions,
  CONTROL_PLANE_RESOURCE_TYPE,
  ProductSpec,
  productSpecSchema,
} from '@idp-multicloud/plugin-control-plane-common';
import {
  ChangeProposer,
  controlPlaneChangeProposalsExtensionPoint,
  controlPlaneClusterDriversExtensionPoint,
  controlPlaneDeliveryExtensionPoint,
  DeliveryProvider,
  controlPlaneDriversExtensionPoint,
  controlPlanePolicyEvaluatorsExtensionPoint,
  PolicyEvaluator,
  controlPlaneProductsExtensionPoint,
  controlPlaneResourceRef,
  controlPlaneResourceRules,
  controlPlaneMetricsProvidersExtensionPoint,
  controlPlaneTrafficRoutersExtensionPoint,
  MetricsProvider,
  TrafficRouter,
} from '@idp-multicloud/plugin-control-plane-node';
import { DriverRegistry } from './drivers/DriverRegistry';
import { ClusterDriverRegistry } from './clusters/ClusterService';
import { eventsServiceRef } from '@backstage/plugin-events-node';
import { createRouter } from './api/router';
import { backgroundTasks, scheduleBackgroundWork } from './background';
import { readControlPlaneConfig } from './config';
import { createControlPlane } from './controlPlane';
import { migrateUp } from './database/migrations';
import { assertSupportedDatabase, tuneSqlite } from './database/util';
import { factsOf, ResourceAuthorizer } from './permissions/ResourceAuthorizer';

/**
 * The control plane backend plugin.
 *
 * @public
 */
export const controlPlanePlugin = createBackendPlugin({
  pluginId: 'control-plane',
  register(env) {
    const moduleProducts = new Map<string, ProductSpec>();
    const drivers = new DriverRegistry();
    env.registerExtensionPoint(controlPlaneDriversExtensionPoint, {
      addDriver(...added) {
        for (const driver of added) drivers.add(driver);
      },
    });
    const clusterDrivers = new ClusterDriverRegistry();
    env.registerExtensionPoint(controlPlaneClusterDriversExtensionPoint, {
      addClusterDriver(...added) {
        for (const driver of added) clusterDrivers.add(driver);
      },
    });
    const policyEvaluators: PolicyEvaluator[] = [];
    env.registerExtensionPoint(controlPlanePolicyEvaluatorsExtensionPoint, {
      addPolicyEvaluator(...added) {
        policyEvaluators.push(...added);
      },
    });
    const trafficRouters = new Map<string, TrafficRouter>();
    env.registerExtensionPoint(controlPlaneTrafficRoutersExtensionPoint, {
      addTrafficRouter(...added) {
        for (const router of added) {
          if (trafficRouters.has(router.id)) {
            throw new Error(`Traffic router ${router.id} was added twice`);
          }
          trafficRouters.set(router.id, router);
        }
      },
    });
    const metricsProviders = new Map<string, MetricsProvider>();
    env.registerExtensionPoint(controlPlaneMetricsProvidersExtensionPoint, {
      addMetricsProvider(...added) {
        for (const provider of added) {
          if (metricsProviders.has(provider.id)) {
            throw new Error(`Metrics provider ${provider.id} was added twice`);
          }
          metricsProviders.set(provider.id, provider);
        }
      },
    });
    let changeProposer: ChangeProposer | undefined;
    env.registerExtensionPoint(controlPlaneChangeProposalsExtensionPoint, {
      setChangeProposer(proposer) {
        if (changeProposer) {
          throw new Error('A change proposer was set twice');
        }
        changeProposer = proposer;
      },
    });
    let deliveryProvider: DeliveryProvider | undefined;
    env.registerExtensionPoint(controlPlaneDeliveryExtensionPoint, {
      setDeliveryProvider(provider) {
        if (deliveryProvider) {
          throw new Error('A delivery provider was set twice');
        }
        deliveryProvider = provider;
      },
    });
    env.registerExtensionPoint(controlPlaneProductsExtensionPoint, {
      addProduct(id, spec) {
        if (moduleProducts.has(id)) {
          throw new Error(`Product ${id} was registered twice`);
        }
        moduleProducts.set(id, productSpecSchema.parse(spec));
      },
    });

    env.registerInit({
      deps: {
        config: coreServices.rootConfig,
        database: coreServices.database,
        httpAuth: coreServices.httpAuth,
        httpRouter: coreServices.httpRouter,
        logger: coreServices.logger,
        permissions: coreServices.permissions,
        permissionsRegistry: coreServices.permissionsRegistry,
        scheduler: coreServices.scheduler,
        lifecycle: coreServices.lifecycle,
        events: eventsServiceRef,
        userInfo: coreServices.userInfo,
        notifications: notificationService,
      },
      async init({
        notifications,
        userInfo,
        events,
        lifecycle,
        config,
        database,
        httpAuth,
        httpRouter,
        logger,
        permissions,
        permissionsRegistry,
        scheduler,
      }) {
        const db = await database.getClient();
        assertSupportedDatabase(db);
        await tuneSqlite(db);
        if (!database.migrations?.skip) {
          await migrateUp(db);
        }
        const settings = readControlPlaneConfig(config);
        const controlPlane = await createControlPlane({
          db,
          config: settings,
          logger,
          moduleProducts,
          drivers,
          policyEvaluators,
          clusterDrivers,
          requireMinorApproval:
            config.getOptionalBoolean(
              'controlPlane.clusters.requireMinorApproval',
            ) ?? false,
          trafficRouters,
          metricsProviders,
          changeProposer,
          deliveryProvider,
          // the provisioning saga's last step: the owner hears the resource is ready
          notify: (resource, message) =>
            notifications.send({
              recipients: { type: 'entity', entityRef: resource.spec.owner },
              payload: {
                title: message,
                link: `/catalog/${resource.metadata.namespace}/resource/${resource.metadata.name}`,
                severity: 'normal',
                topic: 'control-plane.resource-ready',
                scope: resource.ref,
              },
            }),
          notifyOwners: notice =>
            notifications.send({
              recipients: { type: 'entity', entityRef: notice.recipients },
              payload: {
                title: notice.title,
                description: notice.description,
                link: notice.link,
                severity: 'high',
                topic: 'control-plane.definition-change',
              },
            }),
        });
        logger.info(`drivers: ${drivers.ids().join(', ') || 'none'}`);

        permissionsRegistry.addResourceType({
          resourceRef: controlPlaneResourceRef,
          permissions: controlPlanePermissions.filter(
            p =>
              'resourceType' in p &&
              p.resourceType === CONTROL_PLANE_RESOURCE_TYPE,
          ),
          rules: Object.values(controlPlaneResourceRules),
          getResources: async refs => {
            const live = new Map(
              (await controlPlane.resources.getLiveMany(refs)).map(r => [
                r.ref,
                r,
              ]),
            );
            return refs.map(ref => {
              const found = live.get(ref);
              return found ? factsOf(found) : undefined;
            });
          },
        });
        permissionsRegistry.addPermissions(
          controlPlanePermissions.filter(p => !('resourceType' in p)),
        );
        const authorizer = new ResourceAuthorizer(
          permissions,
          permissionsRegistry.getPermissionRuleset(controlPlaneResourceRef),
        );

        await scheduleBackgroundWork(
          scheduler,
          backgroundTasks(controlPlane, settings, logger),
          settings,
          logger,
        );

        // Tell other plugins (the catalog's entity provider) that resources changed.
        controlPlane.events.onAnnounce(refs => {
          events
            .publish({
              topic: 'control-plane.resources',
              eventPayload: { refs },
            })
            .catch(error =>
              logger.warn(`could not publish resource changes: ${error}`),
            );
        });

        httpRouter.use(
          await createRouter({
            controlPlane,
            httpAuth,
            authorizer,
            logger,
            userInfo,
          }),
        );
        httpRouter.addAuthPolicy({ path: '/health', allow: 'unauthenticated' });
        lifecycle.addStartupHook(() => controlPlane.start());
        lifecycle.addShutdownHook(() => controlPlane.stop());
        httpRouter.addAuthPolicy({
          path: '/openapi.json',
          allow: 'unauthenticated',
        });
      },
    });
  },
});

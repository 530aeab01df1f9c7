import {
  coreServices,
  createBackendModule,
  readSchedulerServiceTaskScheduleDefinitionFromConfig,
} from '@backstage/backend-plugin-api';
import { catalogProcessingExtensionPoint } from '@backstage/plugin-catalog-node';
import { eventsServiceRef } from '@backstage/plugin-events-node';
import { ControlPlaneEntityProvider } from './provider/ControlPlaneEntityProvider';

/**
 * Adds the control plane's resources to the catalog as `Resource` entities.
 * @public
 */
export const catalogModuleControlPlane = createBackendModule({
  pluginId: 'catalog',
  moduleId: 'control-plane',
  register({ registerInit }) {
    registerInit({
      deps: {
        auth: coreServices.auth,
        config: coreServices.rootConfig,
        discovery: coreServices.discovery,
        events: eventsServiceRef,
        logger: coreServices.logger,
        processing: catalogProcessingExtensionPoint,
        scheduler: coreServices.scheduler,
      },
      async init({
        auth,
        config,
        discovery,
        events,
        logger,
        processing,
        scheduler,
      }) {
        const scheduleConfig = config.getOptionalConfig(
          'catalog.providers.controlPlane.schedule',
        );
        const schedule = scheduleConfig
          ? readSchedulerServiceTaskScheduleDefinitionFromConfig(scheduleConfig)
          : {
              frequency: { seconds: 30 },
              timeout: { minutes: 2 },
              initialDelay: { seconds: 5 },
            };
        processing.addEntityProvider(
          ControlPlaneEntityProvider.create({
            auth,
            discovery,
            events,
            logger,
            taskRunner: scheduler.createScheduledTaskRunner(schedule),
          }),
        );
      },
    });
  },
});

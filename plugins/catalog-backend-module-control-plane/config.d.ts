import { SchedulerServiceTaskScheduleDefinitionConfig } from '@backstage/backend-plugin-api';

export interface Config {
  catalog?: {
    providers?: {
      /** The control plane's entity provider. */
      controlPlane?: {
        /**
         * How often to re-read every resource; changes are also picked up at once through
         * the events service.
         * @defaultValue { frequency: { seconds: 30 }, timeout: { minutes: 2 } }
         */
        schedule?: SchedulerServiceTaskScheduleDefinitionConfig;
      };
    };
  };
}

import {
  coreServices,
  createBackendModule,
} from '@backstage/backend-plugin-api';
import { controlPlanePolicyEvaluatorsExtensionPoint } from '@idp-multicloud/plugin-control-plane-node';
import { OpaPolicyEvaluator } from './OpaPolicyEvaluator';

/**
 * Adds the `opa` policy evaluator to the control plane: every change of desired state and every
 * operation is also decided by the policy at `controlPlane.opa.policyPath` in the OPA at
 * `controlPlane.opa.baseUrl`. Without `baseUrl` the module adds nothing.
 * @public
 */
export const controlPlaneModuleOpa = createBackendModule({
  pluginId: 'control-plane',
  moduleId: 'opa',
  register(reg) {
    reg.registerInit({
      deps: {
        config: coreServices.rootConfig,
        logger: coreServices.logger,
        policyEvaluators: controlPlanePolicyEvaluatorsExtensionPoint,
      },
      async init({ config, logger, policyEvaluators }) {
        const evaluator = OpaPolicyEvaluator.fromConfig(config, { logger });
        if (!evaluator) {
          logger.info(
            'OPA is not configured (controlPlane.opa.baseUrl is not set): no OPA policy evaluator is added',
          );
          return;
        }
        policyEvaluators.addPolicyEvaluator(evaluator);
        logger.info(
          `Requests are also decided by the OPA policy ${evaluator.policyPath} at ${evaluator.baseUrl} (failure mode ${evaluator.failureMode}, timeout ${evaluator.timeoutMs} ms)`,
        );
      },
    });
  },
});

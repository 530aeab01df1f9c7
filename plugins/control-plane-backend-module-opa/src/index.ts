/**
 * The Open Policy Agent evaluator of the IDP Multicloud control plane: changes and operations
 * are also decided by a Rego policy, asked through OPA's Data API.
 *
 * @packageDocumentation
 */

export { controlPlaneModuleOpa as default } from './module';
export { OpaPolicyEvaluator } from './OpaPolicyEvaluator';
export type { OpaPolicyEvaluatorOptions } from './OpaPolicyEvaluator';
export type { OpaFailureMode } from './config';

/**
 * A SIMULATED multicloud for the IDP Multicloud control plane: the `simulated` driver, which
 * fakes providers, clusters, latencies and faults in the control plane's database so the
 * whole flow runs on one machine. Nothing it provisions exists in a real cloud.
 *
 * @packageDocumentation
 */

export { controlPlaneModuleSimulator as default } from './module';
export { controlPlaneModuleSimulator } from './module';
export { controlPlaneModuleSimulatorWorkloads } from './workloadsModule';
export { SimulatedWorkloads } from './workloads/SimulatedWorkloads';
export { WorkloadSeries } from './workloads/WorkloadSeries';
export type { SeriesKey, TickRecord } from './workloads/WorkloadSeries';
export { SimulatedTrafficRouter } from './workloads/SimulatedTrafficRouter';
export type { SimulatedRoute } from './workloads/SimulatedTrafficRouter';
export { SimulatedMetricsProvider } from './workloads/SimulatedMetricsProvider';
export type { TickSummary } from './workloads/TrafficGenerator';
export { SimulatedDriver } from './SimulatedDriver';
export type { SimulatedDriverOptions } from './SimulatedDriver';
export type {
  SimulatedClaim,
  SimulatedClaimSelector,
  SimulatorState,
} from './SimulatorState';
export type { SimulatorSideEffects } from './simulation/SideEffectLog';
export type {
  SimulatorAction,
  SimulatorDuration,
  SimulatorFault,
  SimulatorFaultInput,
  SimulatorFaultKind,
  SimulatorFaultsConfig,
  SimulatorMisbehavingVersion,
  SimulatorSlowStep,
  SimulatorStepFailure,
  SimulatorTrafficSettings,
} from './config';
export { SimulatedClusterDriver } from './clusters/SimulatedClusterDriver';
export type {
  SimulatedClusterFault,
  SimulatedClusterTimings,
} from './clusters/SimulatedClusterDriver';

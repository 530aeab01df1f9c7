import {
  createExtensionPoint,
  LoggerService,
} from '@backstage/backend-plugin-api';
import {
  Condition,
  OperationType,
} from '@idp-multicloud/plugin-control-plane-common';

/**
 * Where a resource runs: a cluster of a provider in a cell.
 * @public
 */
export interface DriverTarget {
  cell: string;
  provider: string;
  cluster: string;
  region: string;
  zones: string[];
}

/**
 * What a driver is asked to realise: the resource with its effective parameters (product
 * defaults and tier requirements applied).
 * @public
 */
export interface DriverResource {
  /** `resource:<namespace>/<name>` */
  ref: string;
  /** Unique id of this incarnation of the resource. */
  uid: string;
  namespace: string;
  name: string;
  product: string;
  tier: string;
  owner: string;
  /** The desired generation being realised. */
  generation: number;
  params: Record<string, unknown>;
  labels: Record<string, string>;
}

/**
 * The context of one driver call, made by one step of one operation.
 * @public
 */
export interface DriverCallContext {
  /**
   * `<operation id>:<step>`, the same on every retry of the step: a driver must not repeat a
   * side effect it already performed under this token.
   */
  idempotencyToken: string;
  operationId: string;
  traceId?: string;
  signal: AbortSignal;
  logger: LoggerService;
}

/**
 * The phase of a resource as its driver sees it.
 * @public
 */
export type ObservedPhase =
  | 'absent'
  | 'provisioning'
  | 'ready'
  | 'degraded'
  | 'failed'
  | 'deleting';

/**
 * What a driver observes of a resource on its target.
 * @public
 */
export interface ObservedResource {
  phase: ObservedPhase;
  message?: string;
  /**
   * The parameters as they are actually applied; the control plane compares them with the
   * desired ones to find drift. Only parameters the driver can observe need be present.
   */
  params?: Record<string, unknown>;
  version?: string;
  endpoint?: { host: string; port: number };
  /** The name of the secret holding the connection details (never the secret itself). */
  connectionSecretRef?: string;
  conditions?: Condition[];
}

/**
 * What a driver can do: the products it realises and, per product, the operations of the
 * unified contract it implements.
 * @public
 */
export interface DriverCapabilities {
  /** Products this driver realises. */
  products: string[];
  operations: Record<string, OperationType[]>;
}

/**
 * A driver acts on resources on one kind of platform: a simulator, Kubernetes with
 * Crossplane, a cloud's API. Every method is idempotent; all but `observe` receive the
 * step's idempotency token.
 * @public
 */
export interface ControlPlaneDriver {
  /** Matches the `driver` of the providers it serves, e.g. `simulated` or `kubernetes`. */
  readonly id: string;
  capabilities(): DriverCapabilities;
  /** Checks that the resource can run on the target; no side effects. */
  plan(
    resource: DriverResource,
    target: DriverTarget,
    ctx: DriverCallContext,
  ): Promise<void>;
  /** Creates or updates the resource on the target; returns at once, without waiting for it. */
  apply(
    resource: DriverResource,
    target: DriverTarget,
    ctx: DriverCallContext,
  ): Promise<ObservedResource>;
  /** What runs on the target now (`absent` when nothing does). */
  observe(
    resource: DriverResource,
    target: DriverTarget,
    ctx: DriverCallContext,
  ): Promise<ObservedResource>;
  /** Removes the resource; removing what is absent succeeds. */
  delete(
    resource: DriverResource,
    target: DriverTarget,
    ctx: DriverCallContext,
  ): Promise<void>;
  /** Opens the resource to its consumers; returns its endpoint. */
  configureNetworking(
    resource: DriverResource,
    target: DriverTarget,
    ctx: DriverCallContext,
  ): Promise<{ host: string; port: number }>;
  /** Undoes {@link ControlPlaneDriver.configureNetworking}. */
  removeNetworking(
    resource: DriverResource,
    target: DriverTarget,
    ctx: DriverCallContext,
  ): Promise<void>;
  /** Publishes the resource's DNS name; returns it. */
  registerDns(
    resource: DriverResource,
    target: DriverTarget,
    ctx: DriverCallContext,
  ): Promise<{ hostname: string }>;
  /** Undoes {@link ControlPlaneDriver.registerDns}. */
  deregisterDns(
    resource: DriverResource,
    target: DriverTarget,
    ctx: DriverCallContext,
  ): Promise<void>;
  /**
   * Runs one step of an operation of the unified contract (failover, backup, restore,
   * rotate-credentials, data sync of a migration, ...); returns what the operation reports.
   */
  runOperation(
    operation: {
      type: OperationType;
      step: string;
      params: Record<string, unknown>;
    },
    resource: DriverResource,
    target: DriverTarget,
    ctx: DriverCallContext,
  ): Promise<Record<string, unknown>>;
  /**
   * Optional: resolves once the resource's observed phase is one of `phases` (or the call's
   * signal aborts), with what was observed then. A driver that can watch its platform (the
   * Kubernetes driver lists, then watches the claim) implements it; the control plane polls
   * {@link ControlPlaneDriver.observe} for drivers that do not.
   */
  awaitPhase?(
    resource: DriverResource,
    target: DriverTarget,
    phases: ObservedPhase[],
    ctx: DriverCallContext,
  ): Promise<ObservedResource>;
  /**
   * Optional: called on every installed driver before each saga step (and each compensation,
   * whose step name ends in `:compensate`) runs, whether or not the step then calls a driver.
   * What it throws fails the step like a failure of the step itself. The simulator injects
   * faults at any step through it.
   */
  beforeStep?(step: DriverStepInfo, ctx: DriverCallContext): Promise<void>;
  /**
   * Optional: the Kubernetes APIs of the objects the driver runs for the resource on its
   * cluster, as `apiVersion/Kind` (`apps/v1/StatefulSet`, `v1/Service`). A cluster upgrade's
   * pre-flight refuses a Kubernetes version that no longer serves one of them. No side effects.
   */
  apisInUse?(resource: DriverResource, target: DriverTarget): Promise<string[]>;
}

/**
 * The saga step about to run, as {@link ControlPlaneDriver.beforeStep} sees it.
 * @public
 */
export interface DriverStepInfo {
  /** The operation type, e.g. `create`. */
  operationType: string;
  /** The step, e.g. `schedule`, or `schedule:compensate` for its compensation. */
  step: string;
  /** The resource, `resource:<namespace>/<name>`. */
  ref: string;
}

/**
 * An error of a driver. A retryable one (a timeout, a 429, a 503) is retried with backoff;
 * any other fails the step and compensates the operation.
 * @public
 */
export class DriverError extends Error {
  readonly retryable: boolean;
  readonly code?: string;

  constructor(
    message: string,
    options: { retryable: boolean; code?: string; cause?: unknown },
  ) {
    super(message, options.cause ? { cause: options.cause } : undefined);
    this.name = 'DriverError';
    this.retryable = options.retryable;
    this.code = options.code;
  }
}

/**
 * Lets backend modules add drivers.
 * @public
 */
export interface ControlPlaneDriversExtensionPoint {
  addDriver(...drivers: ControlPlaneDriver[]): void;
}

/**
 * The extension point for drivers.
 * @public
 */
export const controlPlaneDriversExtensionPoint =
  createExtensionPoint<ControlPlaneDriversExtensionPoint>({
    id: 'control-plane.drivers',
  });

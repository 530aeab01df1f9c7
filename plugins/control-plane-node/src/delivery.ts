import { createExtensionPoint } from '@backstage/backend-plugin-api';
import { DriverResource, DriverTarget } from './drivers';

/**
 * One resource that runs on a cluster, as a delivery provider renders it: what a driver is
 * told of it, and where it is placed.
 * @public
 */
export interface DeliveredResource {
  resource: DriverResource;
  target: DriverTarget;
  /** What it depends on (`<namespace>/<name>`): a web application reads their connection secrets. */
  dependsOn?: string[];
  /** Its size class as CPU and memory, from its product's sizes, when it has one. */
  size?: { cpu: number; memoryGi: number };
}

/**
 * Everything that runs on the fleet at one commit of the state repository: what a delivery
 * provider renders.
 * @public
 */
export interface DeliverySnapshot {
  /** The state repository commit the desired state comes from. */
  commit: string;
  resources: DeliveredResource[];
}

/**
 * What a render did: the deploy repository commit it made, or none when nothing changed.
 * @public
 */
export interface DeliveryRenderResult {
  /** The deploy repository commit the render made; undefined when nothing changed. */
  commit?: string;
  /** The files the render wrote, changed or removed. */
  changed: string[];
}

/**
 * What a GitOps tool reports of the objects rendered for one resource.
 *
 * - `sync`: `Synced`, `OutOfSync` or `Unknown` (Argo CD's words; Flux's `Ready` condition maps
 *   `True` to `Synced` and `False` to `OutOfSync`);
 * - `health`: `Healthy`, `Progressing`, `Degraded`, `Suspended`, `Missing` or `Unknown`.
 *
 * `inSync` is the verdict: false keeps the resource from READY.
 * @public
 */
export interface DeliveryStatus {
  /** `argocd` or `flux`. */
  tool: string;
  /** The Argo CD Application or the Flux Kustomization (`<namespace>/<name>`). */
  application: string;
  sync: string;
  health: string;
  /** Whether the rendered objects are applied and healthy. */
  inSync: boolean;
  /** Why, in the tool's words. */
  message?: string;
  /** The deploy repository revision the tool last applied. */
  revision?: string;
  /** Whether auto-sync is held for a rollout. */
  held?: boolean;
}

/**
 * A hold on a resource's auto-sync, while a rollout changes it.
 * @public
 */
export interface DeliveryHold extends DeliveredResource {
  /** The deployment that holds it. */
  deploymentId: string;
}

/**
 * Renders what runs on each cluster for a GitOps tool (Argo CD, Flux) and reads the tool's
 * verdict back. A backend module implements it and sets it through
 * {@link controlPlaneDeliveryExtensionPoint}. The provisioning and update sagas render and
 * wait until the tool reports a resource's objects applied and healthy; the reconciler
 * renders on its drift pass and moves a resource whose objects fall out of sync to DEGRADED.
 * @public
 */
export interface DeliveryProvider {
  /** e.g. `gitops`. */
  readonly id: string;
  /** Renders the snapshot; idempotent: no commit when nothing changed. */
  render(snapshot: DeliverySnapshot): Promise<DeliveryRenderResult>;
  /**
   * Whether a tool delivers the objects rendered for `resource` where it runs (a tool
   * watches its cluster, and its product renders as objects): the provisioning and update
   * sagas then wait for the tool's verdict before the resource is READY. Without this
   * method, every placed resource is taken as delivered.
   */
  delivers?(resource: DriverResource, target: DriverTarget): boolean;
  /**
   * What the tool reports of the objects rendered for `resource`; undefined when no tool
   * delivers its cluster or the tool does not know it yet.
   */
  status(
    resource: DriverResource,
    target: DriverTarget,
  ): Promise<DeliveryStatus | undefined>;
  /** Holds auto-sync of what a rollout changes (idempotent). */
  holdSync?(hold: DeliveryHold): Promise<void>;
  /** Releases a hold of {@link DeliveryProvider.holdSync} (idempotent). */
  releaseSync?(hold: DeliveryHold): Promise<void>;
}

/**
 * Lets a backend module set the delivery provider (one at most).
 * @public
 */
export interface ControlPlaneDeliveryExtensionPoint {
  setDeliveryProvider(provider: DeliveryProvider): void;
}

/**
 * The extension point for delivery through GitOps tools.
 * @public
 */
export const controlPlaneDeliveryExtensionPoint =
  createExtensionPoint<ControlPlaneDeliveryExtensionPoint>({
    id: 'control-plane.delivery',
  });

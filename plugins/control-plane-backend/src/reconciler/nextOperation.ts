import { ResourceState } from '@idp-multicloud/plugin-control-plane-common';
import { DateTime, Duration } from 'luxon';

/** The operations the reconciler starts. */
export type ReconcileOperation = 'create' | 'update' | 'delete';

/** What the reconciler does for a resource, and why. */
export type NextOperation =
  | { action: ReconcileOperation; reason: string }
  | { action: 'wait'; reason: string }
  | { action: 'nothing'; reason: string };

/** What the reconciler knows of a resource with no operation in flight. */
export interface ReconcileSubject {
  state: ResourceState;
  generation: number;
  observedGeneration: number;
  /** The last generation whose operation failed. */
  failedGeneration?: number;
  dependsOn: readonly string[];
  /** The request whose commit made the desired generation, and when it was indexed (ISO). */
  desiredBy?: { action: string; indexedAt: string };
}

export interface ReconcileFacts {
  resource: ReconcileSubject;
  /** The state of each live resource it depends on; one that is not live is absent. */
  dependencies: ReadonlyMap<string, ResourceState>;
  /** The live resources that still depend on it. */
  dependents: readonly string[];
  now: DateTime;
}

/**
 * Requests that commit the spec they bring about, then record the operation that does it:
 * that operation realises the generation they committed.
 */
export const OPERATION_REQUESTS: ReadonlySet<string> = new Set([
  'resource.scale',
  'resource.upgrade-version',
  'resource.migrate',
]);

/**
 * How long a generation committed by an operation request is left to its operation: one
 * that never came (a crash between the commit and the operation) is updated after it.
 */
export const OPERATION_REQUEST_GRACE = Duration.fromObject({ seconds: 30 });

/** The desired generation is ahead of the one running, and did not fail. */
function changed(r: ReconcileSubject): boolean {
  return (
    r.generation > r.observedGeneration &&
    (r.failedGeneration === undefined || r.failedGeneration < r.generation)
  );
}

/** The dependencies that are not READY, with their state. */
function blockers(facts: ReconcileFacts): string[] {
  return facts.resource.dependsOn
    .filter(dep => facts.dependencies.get(dep) !== 'READY')
    .map(dep => `${dep} (${facts.dependencies.get(dep) ?? 'absent'})`);
}

/** Whether an operation request committed the generation moments ago: its operation comes. */
function leftToOperationRequest(facts: ReconcileFacts): string | undefined {
  const by = facts.resource.desiredBy;
  if (!by || !OPERATION_REQUESTS.has(by.action)) return undefined;
  const age = facts.now.diff(DateTime.fromISO(by.indexedAt));
  if (age >= OPERATION_REQUEST_GRACE) return undefined;
  return `generation ${facts.resource.generation} was committed by ${
    by.action
  } ${Math.max(
    0,
    Math.round(age.as('seconds')),
  )}s ago: its operation brings it about`;
}

/**
 * What the reconciler starts for a resource with no operation in flight: PENDING ones are
 * created once their dependencies are READY; DELETING ones are deleted once nothing live
 * depends on them; READY and DEGRADED ones whose desired generation is ahead of the running
 * one (and did not fail) are updated, unless an operation request committed that generation
 * within {@link OPERATION_REQUEST_GRACE}; FAILED ones with a new generation are created
 * again. Anything else is left as it is.
 */
export function nextOperation(facts: ReconcileFacts): NextOperation {
  const r = facts.resource;
  switch (r.state) {
    case 'DELETING': {
      if (facts.dependents.length > 0) {
        return {
          action: 'wait',
          reason: `still depended on by ${facts.dependents.join(', ')}`,
        };
      }
      return { action: 'delete', reason: 'removed from the desired state' };
    }
    case 'PENDING':
    case 'FAILED': {
      if (r.state === 'FAILED' && !changed(r)) {
        return {
          action: 'nothing',
          reason: `generation ${r.generation} failed; a retry or a new generation tries again`,
        };
      }
      const blocked = blockers(facts);
      if (blocked.length > 0) {
        return { action: 'wait', reason: `waiting for ${blocked.join(', ')}` };
      }
      return {
        action: 'create',
        reason:
          r.state === 'FAILED'
            ? `generation ${r.generation} asked for`
            : 'requested',
      };
    }
    case 'READY':
    case 'DEGRADED': {
      if (!changed(r)) {
        return {
          action: 'nothing',
          reason:
            r.generation > r.observedGeneration
              ? `generation ${r.generation} failed; a retry or a new generation tries again`
              : `generation ${r.generation} is running`,
        };
      }
      const requested = leftToOperationRequest(facts);
      if (requested) return { action: 'wait', reason: requested };
      return {
        action: 'update',
        reason: `generation ${r.generation} differs from the running ${r.observedGeneration}`,
      };
    }
    default:
      return { action: 'nothing', reason: `${r.state}: an operation moves it` };
  }
}

import { Condition } from '@idp-multicloud/plugin-control-plane-common';

/** What to do when a resource drifted: put it back (default) or only report it. */
export type DriftPolicy = 'correct' | 'warn';

/** How what runs differs from the desired state. */
export interface Drift {
  /** The parameters that differ, or `(the resource is gone)`. */
  fields: string[];
  /** Each differing parameter: what is desired, what runs. */
  diff: Record<string, { desired: unknown; actual: unknown }>;
  /** States the drift exactly: the same message is the same drift. */
  message: string;
}

const GONE = '(the resource is gone)';

/**
 * Compares what a driver observed with the desired parameters: the drift, or `undefined`
 * when they match. Only the parameters the driver reports are compared.
 */
export function compareObserved(
  desired: Record<string, unknown>,
  observed: { phase: string; params?: Record<string, unknown> },
): Drift | undefined {
  const actual = observed.params ?? {};
  const fields =
    observed.phase === 'absent'
      ? [GONE]
      : Object.keys(actual).filter(
          key => JSON.stringify(actual[key]) !== JSON.stringify(desired[key]),
        );
  if (fields.length === 0) return undefined;
  const diff = Object.fromEntries(
    fields
      .filter(f => !f.startsWith('('))
      .map(f => [f, { desired: desired[f], actual: actual[f] }]),
  );
  const message = `${fields.join(', ')} differ from the desired state${
    Object.keys(diff).length > 0 ? `: ${JSON.stringify(diff)}` : ''
  }`.slice(0, 1000);
  return { fields, diff, message };
}

/** A resource's own drift policy wins over its cell's; `correct` when neither sets one. */
export function driftPolicyOf(
  own: DriftPolicy | undefined,
  cell: DriftPolicy | undefined,
): DriftPolicy {
  return own ?? cell ?? 'correct';
}

/**
 * What to do about a drift under a policy, given the resource's `Drifted` condition:
 * `correct` starts an update; `warn` reports it, once for as long as it stays the same.
 */
export function driftAction(
  policy: DriftPolicy,
  drift: Drift,
  previous: Condition | undefined,
): 'correct' | 'report' | 'reported-already' {
  if (policy === 'correct') return 'correct';
  const same =
    previous?.status === 'True' &&
    previous.reason === 'Reported' &&
    previous.message === drift.message;
  return same ? 'reported-already' : 'report';
}

/** The `Drifted` condition's reason and the event's outcome, once a correction was tried or not. */
export function driftOutcome(
  policy: DriftPolicy,
  correcting: boolean,
): { reason: string; outcome: string } {
  if (correcting) return { reason: 'Correcting', outcome: 'correcting it' };
  if (policy === 'correct') {
    return {
      reason: 'NotCorrected',
      outcome: 'not corrected: another operation is in flight',
    };
  }
  return { reason: 'Reported', outcome: 'reported only (policy warn)' };
}

/** READY turns DEGRADED when the driver reports trouble, and back when it recovers. */
export function healthTransition(
  state: string,
  phase: string,
): 'READY' | 'DEGRADED' | undefined {
  if (state === 'READY' && (phase === 'degraded' || phase === 'failed'))
    return 'DEGRADED';
  if (state === 'DEGRADED' && phase === 'ready') return 'READY';
  return undefined;
}

/**
 * Sets a condition, keeping its last transition time while its status stays the same
 * (`at` otherwise).
 */
export function setCondition(
  conditions: Condition[],
  condition: Omit<Condition, 'lastTransitionTime'>,
  at: string,
): Condition[] {
  const previous = conditions.find(c => c.type === condition.type);
  const since =
    previous && previous.status === condition.status
      ? previous.lastTransitionTime
      : at;
  return [
    ...conditions.filter(c => c.type !== condition.type),
    { ...condition, lastTransitionTime: since },
  ];
}

/**
 * The lifecycle of a resource, as data: every persisted move is checked against this table.
 *
 *   PENDING → PROVISIONING → READY ⇄ DEGRADED
 *   any active state → FAILED; FAILED → PROVISIONING (retry) or → DELETING
 *   → DELETING → DELETED
 */

/**
 * Every state a resource can be in, in lifecycle order.
 * @public
 */
export const resourceStates = [
  'PENDING',
  'PROVISIONING',
  'READY',
  'DEGRADED',
  'FAILED',
  'DELETING',
  'DELETED',
] as const;

/**
 * The state of a resource.
 * @public
 */
export type ResourceState = (typeof resourceStates)[number];

const transitions: Record<ResourceState, readonly ResourceState[]> = {
  PENDING: ['PROVISIONING', 'FAILED', 'DELETING'],
  PROVISIONING: ['READY', 'FAILED', 'DELETING'],
  READY: ['DEGRADED', 'FAILED', 'DELETING'],
  DEGRADED: ['READY', 'FAILED', 'DELETING'],
  FAILED: ['PROVISIONING', 'DELETING'],
  DELETING: ['DELETED', 'FAILED'],
  DELETED: [],
};

/**
 * The states a resource may move to from `from`.
 * @public
 */
export function nextResourceStates(
  from: ResourceState,
): readonly ResourceState[] {
  return transitions[from];
}

/**
 * Whether the state machine allows a resource to move from `from` to `to`.
 * @public
 */
export function canTransition(from: ResourceState, to: ResourceState): boolean {
  return transitions[from].includes(to);
}

/**
 * A terminal state has no way out.
 * @public
 */
export function isTerminal(state: ResourceState): boolean {
  return transitions[state].length === 0;
}

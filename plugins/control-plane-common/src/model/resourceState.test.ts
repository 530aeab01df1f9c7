import {
  canTransition,
  isTerminal,
  nextResourceStates,
  ResourceState,
  resourceStates,
} from './resourceState';

describe('resource state machine', () => {
  it.each<[ResourceState, ResourceState, boolean]>([
    ['PENDING', 'PROVISIONING', true],
    ['PROVISIONING', 'READY', true],
    ['READY', 'DEGRADED', true],
    ['DEGRADED', 'READY', true],
    ['PROVISIONING', 'FAILED', true],
    ['FAILED', 'PROVISIONING', true],
    ['FAILED', 'DELETING', true],
    ['READY', 'DELETING', true],
    ['DELETING', 'DELETED', true],
    ['PENDING', 'READY', false],
    ['READY', 'PENDING', false],
    ['DELETED', 'PROVISIONING', false],
    ['DELETING', 'READY', false],
    ['FAILED', 'READY', false],
    ['READY', 'READY', false],
  ])('%s → %s allowed: %s', (from, to, allowed) => {
    expect(canTransition(from, to)).toBe(allowed);
  });

  it('has DELETED as its only terminal state', () => {
    expect(resourceStates.filter(isTerminal)).toEqual(['DELETED']);
  });

  it('lets every active state fail', () => {
    const active = resourceStates.filter(
      s => !['FAILED', 'DELETED'].includes(s),
    );
    for (const state of active) {
      expect(nextResourceStates(state)).toContain('FAILED');
    }
  });
});

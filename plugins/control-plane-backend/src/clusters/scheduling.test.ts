import { filters, scores, SchedulingCandidate } from '../scheduling/pipeline';

const candidate = (
  clusterState: SchedulingCandidate['clusterState'],
  providerHealth = 1,
) =>
  ({
    cluster: 'c1',
    provider: { id: 'gcp', health: providerHealth, breaker: 'closed' },
    clusterState,
  } as unknown as SchedulingCandidate);
const request = {} as Parameters<(typeof filters)['cell']>[0];
const best = { cheapest: 1, fastest: 1 };

describe('the scheduler and the cluster lifecycle', () => {
  it.each([
    [undefined, undefined],
    [{ phase: 'Ready', health: 90 }, undefined],
    [{ phase: 'Degraded', health: 60 }, undefined],
    [{ phase: 'Draining', health: 90 }, 'cluster is Draining'],
    [{ phase: 'Upgrading', health: 90 }, 'cluster is Upgrading'],
    [{ phase: 'Provisioning', health: 100 }, 'cluster is Provisioning'],
    [{ phase: 'Decommissioning', health: 100 }, 'cluster is Decommissioning'],
    [{ phase: 'Ready', health: 35 }, 'cluster health 35 is below 40'],
  ])('a cluster %j is rejected: %s', (state, reason) => {
    expect(filters['cluster-lifecycle'](request, candidate(state))).toBe(
      reason,
    );
  });

  it.each([
    [undefined, 1, 1],
    [{ phase: 'Ready', health: 80 }, 1, 0.8],
    [{ phase: 'Ready', health: 80 }, 0.5, 0.4],
  ])(
    'scores health of a cluster %j with provider health %d as %d',
    (state, provider, score) => {
      expect(
        scores.health(request as any, candidate(state, provider), best),
      ).toBeCloseTo(score);
    },
  );
});

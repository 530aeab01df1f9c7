import {
  CellSpec,
  ClusterSpec,
  ProviderSpec,
  ValidationIssue,
} from '@idp-multicloud/plugin-control-plane-common';

/** What a placement pin is checked against: the desired state's fleet. */
export interface PlacementFleet {
  cell(id: string): CellSpec | undefined;
  provider(id: string): ProviderSpec | undefined;
  cluster(id: string): ClusterSpec | undefined;
}

/**
 * Issues of a resource's placement pin (`spec.placement`), paths under `spec.`: a pinned
 * provider must exist and be one of the cell's; a pinned cluster must exist, be in the
 * resource's cell and, when a provider is pinned too, run on it. A pin the scheduler could
 * never honour is refused before it is committed, not when the saga tries it.
 */
export function placementIssues(
  fleet: PlacementFleet,
  spec: {
    cell: string;
    placement?: { provider?: string; cluster?: string };
  },
): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const { provider, cluster } = spec.placement ?? {};
  const cell = fleet.cell(spec.cell);
  if (provider !== undefined) {
    if (!fleet.provider(provider)) {
      issues.push({
        path: 'spec.placement.provider',
        message: `no provider ${provider}`,
      });
    } else if (cell && !cell.providers.includes(provider)) {
      issues.push({
        path: 'spec.placement.provider',
        message: `cell ${
          spec.cell
        } does not list provider ${provider} (it lists ${
          cell.providers.join(', ') || 'none'
        })`,
      });
    }
  }
  if (cluster !== undefined) {
    const pinned = fleet.cluster(cluster);
    if (!pinned) {
      issues.push({
        path: 'spec.placement.cluster',
        message: `no cluster ${cluster}`,
      });
    } else if (pinned.cell !== spec.cell) {
      issues.push({
        path: 'spec.placement.cluster',
        message: `cluster ${cluster} is in cell ${pinned.cell}, not ${spec.cell}`,
      });
    } else if (provider !== undefined && pinned.provider !== provider) {
      issues.push({
        path: 'spec.placement.cluster',
        message: `cluster ${cluster} runs on provider ${pinned.provider}, not ${provider}`,
      });
    }
  }
  return issues;
}

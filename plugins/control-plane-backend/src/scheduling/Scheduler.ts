import { Resource } from '@idp-multicloud/plugin-control-plane-common';
import { Knex } from 'knex';
import { DriverRegistry } from '../drivers/DriverRegistry';
import { DesiredState } from '../gitops/DesiredState';
import {
  BreakerState,
  defaultWeights,
  schedule,
  SchedulingCandidate,
  SchedulingDecision,
  ScoreWeights,
} from './pipeline';
import { defaultPriceList, monthlyCost, PriceList } from './pricing';

/** What the scheduler knows of a provider's health right now. */
export interface ProviderStatus {
  health: number;
  breaker: BreakerState;
  latencyMs: number;
}

/** Where provider health comes from (the health store; all healthy when absent). */
export interface ProviderStatusSource {
  statuses(): Promise<Map<string, ProviderStatus>>;
}

/** What the resources placed on a cluster ask of it. */
export type ClusterUsage = SchedulingCandidate['usage'];

/** A cluster nothing is placed on. */
export const noUsage: Readonly<ClusterUsage> = {
  resources: 0,
  cpu: 0,
  memoryGi: 0,
  storageGi: 0,
};

/** What to place and how. */
export interface ScheduleInput {
  resource: Pick<Resource, 'ref' | 'spec' | 'status'> & { uid: string };
  params: Record<string, unknown>;
  /** The cell to place in (a migration's target), default the resource's. */
  cell?: string;
  pinned?: { provider?: string; cluster?: string };
  /** Clusters to leave out (a migration leaves out the current one). */
  exclude?: string[];
  /** Monthly budget left, USD. */
  budgetHeadroom?: number;
  /** Scoring weights (an experiment arm), default the tier's. */
  weights?: ScoreWeights;
  /** Runs a pipeline stage, e.g. inside a tracing span. */
  stage?: <T>(name: string, fn: () => T) => T;
}

/**
 * Gathers what the scheduling pipeline needs — clusters of the fleet with their usage,
 * provider health and breakers, estimated costs, and how many of the owner's resources of
 * the same product each cluster already runs — and runs it.
 */
export class Scheduler {
  constructor(
    private readonly options: {
      db: Knex;
      drivers: DriverRegistry;
      prices?: PriceList;
      providerStatus?: ProviderStatusSource;
      weights?: Partial<Record<string, ScoreWeights>>;
    },
  ) {}

  get prices(): PriceList {
    return this.options.prices ?? defaultPriceList;
  }

  weightsFor(tier: string): ScoreWeights {
    return (
      this.options.weights?.[tier] ??
      defaultWeights[tier] ??
      defaultWeights.medium
    );
  }

  /** Estimated monthly cost of a resource on a provider. */
  cost(
    desired: DesiredState,
    product: string,
    params: Record<string, unknown>,
    provider: string,
  ): number {
    const spec = desired.product(product)?.spec;
    return monthlyCost(this.prices, provider, {
      product,
      category: spec?.category ?? 'compute',
      params,
      replicasParameter: spec?.replicasParameter,
      storageParameter: spec?.storageParameter,
    });
  }

  /** CPU, memory and storage a resource asks of its cluster. */
  demand(desired: DesiredState, product: string, params: Record<string, any>) {
    const spec = desired.product(product)?.spec;
    const size = spec?.sizes[params.size ?? 'medium'] ?? {
      cpu: 0.5,
      memoryGi: 1,
    };
    const primary =
      spec?.category === 'database' || spec?.category === 'cache' ? 1 : 0;
    const declared = spec?.replicasParameter
      ? Number(params[spec.replicasParameter] ?? 1)
      : 1;
    const replicas = Math.max(1, declared + primary);
    const storage = spec?.storageParameter
      ? Number(params[spec.storageParameter] ?? 0)
      : 0;
    return {
      cpu: size.cpu * replicas,
      memoryGi: size.memoryGi * replicas,
      storageGi: storage * replicas,
    };
  }

  /** The resources placed on a cluster and not deleted (but `excludeUid`). */
  private async placed(excludeUid?: string) {
    const query = this.options
      .db('resources')
      .whereNot('state', 'DELETED')
      .whereNotNull('placement');
    if (excludeUid) query.whereNot('uid', excludeUid);
    const rows = await query.select('placement', 'spec', 'product', 'owner');
    return rows.map(row => ({
      cluster: (JSON.parse(row.placement) as { cluster: string }).cluster,
      params: (JSON.parse(row.spec).params ?? {}) as Record<string, unknown>,
      product: row.product as string,
      owner: row.owner as string,
    }));
  }

  private usageOf(
    desired: DesiredState,
    rows: Awaited<ReturnType<Scheduler['placed']>>,
  ): Map<string, ClusterUsage> {
    const usage = new Map<string, ClusterUsage>();
    for (const row of rows) {
      const entry = usage.get(row.cluster) ?? { ...noUsage };
      const d = this.demand(desired, row.product, row.params);
      entry.resources += 1;
      entry.cpu += d.cpu;
      entry.memoryGi += d.memoryGi;
      entry.storageGi += d.storageGi;
      usage.set(row.cluster, entry);
    }
    return usage;
  }

  /** What the resources placed on each cluster ask of it, by cluster name. */
  async clusterUsage(
    desired: DesiredState,
  ): Promise<Map<string, ClusterUsage>> {
    return this.usageOf(desired, await this.placed());
  }

  async candidates(
    desired: DesiredState,
    input: ScheduleInput,
  ): Promise<SchedulingCandidate[]> {
    const { resource, params } = input;
    const live = await this.placed(resource.uid);
    const usage = this.usageOf(desired, live);
    const peers = new Map<string, number>();
    for (const row of live) {
      if (
        row.owner === resource.spec.owner &&
        row.product === resource.spec.product
      ) {
        peers.set(row.cluster, (peers.get(row.cluster) ?? 0) + 1);
      }
    }
    const statuses =
      (await this.options.providerStatus?.statuses()) ?? new Map();
    const exclude = new Set(input.exclude ?? []);
    return desired
      .ofKind('Cluster')
      .filter(c => !exclude.has(c.metadata.name))
      .map(c => {
        const providerSpec = desired.provider(c.spec.provider) ?? {
          displayName: c.spec.provider,
          kind: 'onprem' as const,
          driver: 'unknown',
        };
        const driver = this.options.drivers.get(providerSpec.driver);
        const status = statuses.get(c.spec.provider) ?? {
          health: 1,
          breaker: 'closed' as const,
          latencyMs: 50,
        };
        return {
          cluster: c.metadata.name,
          spec: c.spec,
          provider: { id: c.spec.provider, spec: providerSpec, ...status },
          cellResidency: desired.cell(c.spec.cell)?.dataResidency,
          driverSupportsProduct:
            !!driver &&
            driver.capabilities().products.includes(resource.spec.product),
          usage: usage.get(c.metadata.name) ?? { ...noUsage },
          monthlyCost: this.cost(
            desired,
            resource.spec.product,
            params,
            c.spec.provider,
          ),
          peers: peers.get(c.metadata.name) ?? 0,
        };
      });
  }

  async decide(
    desired: DesiredState,
    input: ScheduleInput,
  ): Promise<SchedulingDecision> {
    const { resource, params } = input;
    const cellId = input.cell ?? resource.spec.cell;
    const cell = desired.cell(cellId);
    const tier = desired.tier(resource.spec.tier);
    if (!cell || !tier) {
      return {
        candidates: [],
        weights: this.weightsFor(resource.spec.tier),
        explanation: `${
          !cell ? `cell ${cellId}` : `tier ${resource.spec.tier}`
        } does not exist`,
      };
    }
    const candidates = await this.candidates(desired, input);
    const homeResidency = desired.cell(resource.spec.cell)?.dataResidency;
    return schedule(
      {
        ref: resource.ref,
        product: resource.spec.product,
        cellId,
        cell,
        tierId: resource.spec.tier,
        tier,
        demand: this.demand(desired, resource.spec.product, params),
        pinned: input.pinned ?? resource.spec.placement,
        residency: homeResidency ?? cell.dataResidency,
        budgetHeadroom: input.budgetHeadroom,
        weights: input.weights ?? this.weightsFor(resource.spec.tier),
      },
      candidates,
      input.stage,
    );
  }
}

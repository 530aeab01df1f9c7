import { Resource } from '@idp-multicloud/plugin-control-plane-common';
import { Knex } from 'knex';
import { now } from '../database/time';
import { DriverRegistry } from '../drivers/DriverRegistry';
import { DesiredState } from '../gitops/DesiredState';
import {
  BreakerState,
  defaultWeights,
  PlacementQuota,
  schedule,
  SchedulingCandidate,
  SchedulingDecision,
  ScoreWeights,
} from './pipeline';
import { monthlyCost, PriceList } from './pricing';

/**
 * The label that makes resources a failover pair: the resources of a namespace with the same
 * value never share a provider (the filter `failover-pair`), so that one provider's outage
 * cannot take both.
 */
export const FAILOVER_PAIR_LABEL = 'idp.multicloud/failover-pair';

/** What the scheduler knows of a provider's health right now. */
export interface ProviderStatus {
  health: number;
  breaker: BreakerState;
  /** Mean driver call latency, ms, over all its clusters. */
  latencyMs: number;
  /** Mean driver call latency to its clusters in each cell, ms. */
  latencyByCell: Record<string, number>;
}

/** Latency assumed for a provider nothing was measured of, ms. */
const UNMEASURED_LATENCY_MS = 50;

/** Which experiment arm, if any, a placement takes part in. */
export interface ExperimentAssigner {
  assign(placement: {
    uid: string;
    tier: string;
    cell: string;
  }): Promise<
    | { experiment: string; arm: string; weights?: Partial<ScoreWeights> }
    | undefined
  >;
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
  resource: Pick<Resource, 'ref' | 'spec' | 'status'> & {
    uid: string;
    metadata: Pick<Resource['metadata'], 'namespace' | 'labels'>;
  };
  params: Record<string, unknown>;
  /** The cell to place in (a migration's target), default the resource's. */
  cell?: string;
  pinned?: { provider?: string; cluster?: string };
  /** Clusters to leave out (a migration leaves out the current one). */
  exclude?: string[];
  /** The quotas that apply, with what placed resources use of them. */
  quotas?: PlacementQuota[];
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
      prices: PriceList;
      providerStatus?: ProviderStatusSource;
      /** Weights per tier from app-config, over the built-in defaults. */
      weights?: Record<string, Partial<ScoreWeights>>;
      experiments?: ExperimentAssigner;
    },
  ) {}

  get prices(): PriceList {
    return this.options.prices;
  }

  /**
   * A tier's score weights: the tier's `placement.weights` in the state repository, over
   * `controlPlane.scheduling.weights`, over the built-in defaults.
   */
  weightsFor(tier: string, desired?: DesiredState): ScoreWeights {
    return {
      ...(defaultWeights[tier] ?? defaultWeights.medium),
      ...this.options.weights?.[tier],
      ...desired?.tier(tier)?.placement.weights,
    };
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
    const rows = await query.select(
      'namespace',
      'name',
      'placement',
      'spec',
      'product',
      'owner',
      'labels',
    );
    return rows.map(row => {
      const placement = JSON.parse(row.placement) as {
        cluster: string;
        provider: string;
      };
      return {
        namespace: row.namespace as string,
        name: row.name as string,
        cluster: placement.cluster,
        provider: placement.provider,
        params: (JSON.parse(row.spec).params ?? {}) as Record<string, unknown>,
        product: row.product as string,
        owner: row.owner as string,
        labels: JSON.parse(row.labels ?? '{}') as Record<string, string>,
      };
    });
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
    const cellId = input.cell ?? resource.spec.cell;
    const live = await this.placed(resource.uid);
    const usage = this.usageOf(desired, live);
    const replicasOn = new Map<string, number>();
    const replicasOfProvider = new Map<string, number>();
    const partners = new Map<string, string[]>();
    const pair = resource.metadata.labels?.[FAILOVER_PAIR_LABEL];
    const add = (m: Map<string, number>, key: string) =>
      m.set(key, (m.get(key) ?? 0) + 1);
    for (const row of live) {
      if (
        row.owner === resource.spec.owner &&
        row.product === resource.spec.product
      ) {
        add(replicasOn, row.cluster);
        add(replicasOfProvider, row.provider);
      }
      if (
        pair &&
        row.namespace === resource.metadata.namespace &&
        row.labels[FAILOVER_PAIR_LABEL] === pair
      ) {
        partners.set(row.provider, [
          ...(partners.get(row.provider) ?? []),
          `resource:${row.namespace}/${row.name}`,
        ]);
      }
    }
    const statuses =
      (await this.options.providerStatus?.statuses()) ?? new Map();
    const exclude = new Set(input.exclude ?? []);
    const product = resource.spec.product;
    return desired
      .ofKind('Cluster')
      .filter(c => !exclude.has(c.metadata.name))
      .map(c => {
        const providerId = c.spec.provider;
        const providerSpec = desired.provider(providerId) ?? {
          displayName: providerId,
          kind: 'onprem' as const,
          driver: 'unknown',
        };
        const capabilities = this.options.drivers
          .get(providerSpec.driver)
          ?.capabilities();
        const status: ProviderStatus | undefined = statuses.get(providerId);
        const onCluster = replicasOn.get(c.metadata.name) ?? 0;
        return {
          cluster: c.metadata.name,
          spec: c.spec,
          provider: {
            id: providerId,
            spec: providerSpec,
            health: status?.health ?? 1,
            breaker: status?.breaker ?? 'closed',
          },
          latencyMs:
            status?.latencyByCell[cellId] ??
            (status?.latencyMs || UNMEASURED_LATENCY_MS),
          cellResidency: desired.cell(c.spec.cell)?.dataResidency,
          driverSupportsProduct: !!capabilities?.products.includes(product),
          driverBacksUp:
            !!capabilities?.operations[product]?.includes('backup'),
          usage: usage.get(c.metadata.name) ?? { ...noUsage },
          monthlyCost: this.cost(desired, product, params, providerId),
          replicas: {
            sameCluster: onCluster,
            sameProvider: (replicasOfProvider.get(providerId) ?? 0) - onCluster,
          },
          partnersOnProvider: partners.get(providerId) ?? [],
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
    const weights = this.weightsFor(resource.spec.tier, desired);
    if (!cell || !tier) {
      return {
        outcome: 'unschedulable',
        candidates: [],
        weights,
        explanation: `${
          !cell ? `cell ${cellId}` : `tier ${resource.spec.tier}`
        } does not exist`,
      };
    }
    const [candidates, arm] = await Promise.all([
      this.candidates(desired, input),
      this.options.experiments?.assign({
        uid: resource.uid,
        tier: resource.spec.tier,
        cell: cellId,
      }),
    ]);
    const homeResidency = desired.cell(resource.spec.cell)?.dataResidency;
    const product = desired.product(resource.spec.product)?.spec;
    const decision = schedule(
      {
        ref: resource.ref,
        product: resource.spec.product,
        cellId,
        cell,
        tierId: resource.spec.tier,
        tier,
        requiresBackups:
          tier.requiredFeatures.backups && !product?.waivedFeatures?.backups,
        demand: this.demand(desired, resource.spec.product, params),
        pinned: input.pinned ?? resource.spec.placement,
        residency: homeResidency ?? cell.dataResidency,
        quotas: input.quotas,
        weights: arm?.weights ? { ...weights, ...arm.weights } : weights,
      },
      candidates,
      input.stage,
    );
    return arm
      ? { ...decision, experiment: { id: arm.experiment, arm: arm.arm } }
      : decision;
  }

  /** Stores a decision, placed or not, with its explanation (what `GET .../placement` shows). */
  async record(
    db: Knex | Knex.Transaction,
    entry: {
      resource: { uid: string; ref: string };
      operationId: string;
      decision: SchedulingDecision;
      durationMs: number;
    },
  ): Promise<void> {
    const { decision } = entry;
    await db('placement_decisions').insert({
      resource_uid: entry.resource.uid,
      resource_ref: entry.resource.ref,
      operation_id: entry.operationId,
      cluster: decision.selected?.cluster ?? null,
      provider: decision.selected?.provider ?? null,
      experiment: decision.experiment?.id ?? null,
      arm: decision.experiment?.arm ?? null,
      decision: JSON.stringify(decision),
      explanation: decision.explanation,
      duration_ms: entry.durationMs,
      created_at: now(),
    });
  }
}

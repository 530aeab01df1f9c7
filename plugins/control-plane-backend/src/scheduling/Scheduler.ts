import {
  ownValue,
  Resource,
} from '@idp-multicloud/plugin-control-plane-common';
import { Knex } from 'knex';
import { DriverRegistry } from '../drivers/DriverRegistry';
import { DesiredState } from '../gitops/DesiredState';
import { ProviderStatus, ProviderStatusSource } from '../health/ProviderHealth';
import { ResourceFootprint, ResourceStore } from '../resources/ResourceStore';
import { demandOf } from './demand';
import {
  defaultWeights,
  PlacementQuota,
  schedule,
  SchedulingCandidate,
  SchedulingDecision,
  ScoreWeights,
} from './pipeline';
import { PlacementStore } from './PlacementStore';
import { Pricing } from './pricing';
import { ExperimentAssigner } from './experiments';

/**
 * The label that makes resources a failover pair: the resources of a namespace with the same
 * value never share a provider (the filter `failover-pair`), so that one provider's outage
 * cannot take both.
 */
export const FAILOVER_PAIR_LABEL = 'idp.multicloud/failover-pair';

/** Latency assumed for a provider nothing was measured of, ms. */
const UNMEASURED_LATENCY_MS = 50;

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
      resources: ResourceStore;
      placements: PlacementStore;
      drivers: DriverRegistry;
      pricing: Pricing;
      providerStatus?: ProviderStatusSource;
      /** Weights per tier from app-config, over the built-in defaults. */
      weights?: Record<string, Partial<ScoreWeights>>;
      experiments?: ExperimentAssigner;
      /** Phase and health score (0–100) of the clusters the lifecycle manages, by name. */
      clusterStatus?: () => Promise<
        Map<string, { phase?: string; health: number }>
      >;
    },
  ) {}

  /**
   * A tier's score weights: the tier's `placement.weights` in the state repository, over
   * `controlPlane.scheduling.weights`, over the built-in defaults.
   */
  weightsFor(tier: string, desired?: DesiredState): ScoreWeights {
    return {
      ...(ownValue(defaultWeights, tier) ?? defaultWeights.medium),
      ...ownValue(this.options.weights, tier),
      ...desired?.tier(tier)?.placement.weights,
    };
  }

  private usageOf(
    desired: DesiredState,
    placed: ResourceFootprint[],
  ): Map<string, ClusterUsage> {
    const usage = new Map<string, ClusterUsage>();
    for (const r of placed) {
      const cluster = r.placement!.cluster;
      const entry = usage.get(cluster) ?? { ...noUsage };
      const d = demandOf(desired, r.product, r.params);
      entry.resources += 1;
      entry.cpu += d.cpu;
      entry.memoryGi += d.memoryGi;
      entry.storageGi += d.storageGi;
      usage.set(cluster, entry);
    }
    return usage;
  }

  /** What the resources placed on each cluster ask of it, by cluster name. */
  async clusterUsage(
    desired: DesiredState,
  ): Promise<Map<string, ClusterUsage>> {
    return this.usageOf(desired, await this.options.resources.placed());
  }

  async candidates(
    desired: DesiredState,
    input: ScheduleInput,
  ): Promise<SchedulingCandidate[]> {
    const { resource, params } = input;
    const cellId = input.cell ?? resource.spec.cell;
    const live = await this.options.resources.placed({ except: resource.uid });
    const usage = this.usageOf(desired, live);
    const replicasOn = new Map<string, number>();
    const replicasOfProvider = new Map<string, number>();
    const partners = new Map<string, string[]>();
    const pair = resource.metadata.labels?.[FAILOVER_PAIR_LABEL];
    const add = (m: Map<string, number>, key: string) =>
      m.set(key, (m.get(key) ?? 0) + 1);
    for (const row of live) {
      const { cluster, provider } = row.placement!;
      if (
        row.owner === resource.spec.owner &&
        row.product === resource.spec.product
      ) {
        add(replicasOn, cluster);
        add(replicasOfProvider, provider);
      }
      if (
        pair &&
        row.namespace === resource.metadata.namespace &&
        row.labels[FAILOVER_PAIR_LABEL] === pair
      ) {
        partners.set(provider, [
          ...(partners.get(provider) ?? []),
          `resource:${row.namespace}/${row.name}`,
        ]);
      }
    }
    const statuses =
      (await this.options.providerStatus?.statuses()) ?? new Map();
    const lifecycle =
      (await this.options.clusterStatus?.()) ??
      new Map<string, { phase?: string; health: number }>();
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
            ownValue(status?.latencyByCell, cellId) ??
            (status?.latencyMs || UNMEASURED_LATENCY_MS),
          cellResidency: desired.cell(c.spec.cell)?.dataResidency,
          driverSupportsProduct: !!capabilities?.products.includes(product),
          driverBacksUp: !!ownValue(
            capabilities?.operations,
            product,
          )?.includes('backup'),
          usage: usage.get(c.metadata.name) ?? { ...noUsage },
          monthlyCost: this.options.pricing.monthlyCost(
            desired,
            product,
            params,
            providerId,
          ),
          replicas: {
            sameCluster: onCluster,
            sameProvider: (replicasOfProvider.get(providerId) ?? 0) - onCluster,
          },
          partnersOnProvider: partners.get(providerId) ?? [],
          clusterState: lifecycle.get(c.metadata.name),
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
        demand: demandOf(desired, resource.spec.product, params),
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

  /**
   * Stores a decision, placed or not, with its explanation (what `GET .../placement` shows),
   * in the caller's transaction when given one.
   */
  async record(
    db: Knex | Knex.Transaction,
    entry: Parameters<PlacementStore['record']>[1],
  ): Promise<void> {
    await this.options.placements.record(db, entry);
  }
}

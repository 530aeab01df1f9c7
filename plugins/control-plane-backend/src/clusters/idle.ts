import { LoggerService } from '@backstage/backend-plugin-api';
import {
  MANIFEST_API_VERSION,
  ManifestOf,
} from '@idp-multicloud/plugin-control-plane-common';
import { DateTime, Duration } from 'luxon';
import { CallContext } from '../context';
import { ClusterService } from './ClusterService';
import { ClusterStore } from './ClusterStore';

/** A managed cluster nothing has been placed on for longer than the idle time. */
export interface IdleCluster {
  cluster: string;
  emptySince: string;
  /** The change proposed to decommission it, when one was. */
  proposal: string | null;
}

/** What a pass found: idle clusters, what it proposed, and decommissions it started. */
export interface IdleReport {
  idle: IdleCluster[];
  proposed: string[];
  decommissioning: string[];
}

/**
 * The clusters empty for longer than `idleFor` at `now` (pure): candidates for a
 * decommission a person approves.
 */
export function idleClusters(
  idleness: Map<string, { emptySince: number; proposal: string | null }>,
  idleFor: Duration,
  now: DateTime,
): IdleCluster[] {
  const before = now.minus(idleFor).toMillis();
  return [...idleness]
    .filter(([, i]) => i.emptySince <= before)
    .map(([cluster, i]) => ({
      cluster,
      emptySince: DateTime.fromMillis(i.emptySince).toUTC().toISO()!,
      proposal: i.proposal,
    }))
    .sort((a, b) => a.cluster.localeCompare(b.cluster));
}

/**
 * Idle clusters are never removed silently. Each one is proposed, once, as a change of its
 * manifest to `lifecycle: decommissioned` for a person to approve (a pull request, where a
 * review module is installed; otherwise it is only reported). A cluster whose desired
 * lifecycle is `decommissioned` (that change merged, or made by hand) and that is empty is
 * decommissioned.
 */
export class IdleClusters {
  constructor(
    private readonly o: {
      service: ClusterService;
      store: ClusterStore;
      logger: LoggerService;
      idleFor: Duration;
      /** Proposes a change for review; undefined when no review module is installed. */
      propose?: (
        manifest: ManifestOf<'Cluster'>,
        ctx: CallContext,
      ) => Promise<string> | undefined;
    },
  ) {}

  async pass(now: DateTime = DateTime.now()): Promise<IdleReport> {
    const ctx = { actor: 'control-plane', requestId: 'idle-clusters' };
    const idle = idleClusters(
      await this.o.store.idleness(),
      this.o.idleFor,
      now,
    );
    const desired = await this.o.service.current();
    const proposed: string[] = [];
    for (const c of idle) {
      const m = desired.get('Cluster', c.cluster);
      if (c.proposal || !m || m.spec.lifecycle === 'decommissioned') continue;
      const proposal = this.o.propose?.(
        {
          apiVersion: MANIFEST_API_VERSION,
          kind: 'Cluster',
          metadata: m.metadata,
          spec: { ...m.spec, lifecycle: 'decommissioned' },
        },
        ctx,
      );
      if (!proposal) {
        this.o.logger.info(
          `cluster ${c.cluster} has been empty since ${c.emptySince}: decommission it, or install a review module to have it proposed`,
        );
        continue;
      }
      try {
        const id = await proposal;
        await this.o.store.recordProposal(c.cluster, id);
        c.proposal = id;
        proposed.push(c.cluster);
      } catch (error) {
        this.o.logger.warn(
          `could not propose to decommission ${c.cluster}: ${error}`,
        );
      }
    }
    const decommissioning: string[] = [];
    for (const c of await this.o.service.list()) {
      if (
        c.lifecycle !== 'decommissioned' ||
        !c.observed ||
        ['Decommissioning', 'Deleted'].includes(c.observed.phase) ||
        (c.operations ?? []).length > 0 ||
        c.usage.resources > 0
      ) {
        continue;
      }
      try {
        await this.o.service.decommission(c.id, ctx);
        decommissioning.push(c.id);
      } catch (error) {
        this.o.logger.warn(`could not decommission ${c.id}: ${error}`);
      }
    }
    return { idle, proposed, decommissioning };
  }
}

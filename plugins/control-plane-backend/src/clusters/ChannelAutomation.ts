import { LoggerService } from '@backstage/backend-plugin-api';
import {
  channelVersion,
  ClusterChannel,
  clusterChannels,
} from '@idp-multicloud/plugin-control-plane-common';
import { DateTime } from 'luxon';
import {
  inMaintenanceWindow,
  nextMaintenanceWindow,
  nextStep,
  planRollout,
  RolloutCluster,
  RolloutDecision,
} from './channels';
import { ClusterService } from './ClusterService';
import { ClusterStore } from './ClusterStore';

/** `1.32` of `1.32.4`. */
export const minorOf = (version: string) =>
  version.split('.').slice(0, 2).join('.');

/** What a pass of the automation found and did on one channel. */
export interface ChannelReport extends RolloutDecision {
  channel: ClusterChannel;
  target: string;
  /** Clusters whose upgrade could not start, and why. */
  refused: { cluster: string; reason: string }[];
  /** When each cluster still to upgrade may next be upgraded. */
  nextWindows: Record<string, string | null>;
  /** Minors the channel's clusters wait for a platform engineer to approve. */
  awaitingApproval: string[];
}

/**
 * Upgrades the clusters of each channel to the version the channel offers, inside their
 * maintenance windows and in waves (see planRollout). Each upgrade is an ordinary upgrade
 * operation (its version committed to Git by `control-plane`), carrying the rollout and the
 * cluster's health before it, so a pass after a crash decides from what is recorded.
 */
export class ChannelAutomation {
  constructor(
    private readonly o: {
      service: ClusterService;
      store: ClusterStore;
      logger: LoggerService;
      /** The version a channel offers now (default: the release table's newest on it). */
      channelTarget?: (channel: ClusterChannel) => string | undefined;
      /** A new minor waits for a platform engineer's approval; patches never do. */
      requireMinorApproval?: boolean;
    },
  ) {}

  async pass(now: DateTime = DateTime.now()): Promise<ChannelReport[]> {
    const clusters = await this.o.service.list();
    const reports: ChannelReport[] = [];
    for (const channel of clusterChannels) {
      const target = (this.o.channelTarget ?? channelVersion)(channel);
      const members = clusters.filter(c => c.channel === channel);
      if (!target || members.length === 0) continue;
      const rollout = `${channel}→${target}`;
      const candidates: RolloutCluster[] = [];
      for (const c of members) {
        const ops = await this.o.store.operationsOf(c.id, { limit: 20 });
        const last = ops.find(
          op => op.type === 'upgrade' && op.params.rollout === rollout,
        );
        candidates.push({
          name: c.id,
          cell: c.cell,
          version: c.observed?.controlPlaneVersion ?? c.version,
          inWindow: inMaintenanceWindow(c.maintenanceWindow, now),
          busy: (c.operations ?? []).length > 0,
          health: c.health.score,
          ...(last
            ? {
                upgrade: {
                  state: last.state,
                  healthBefore: last.params.healthBefore as number | undefined,
                },
              }
            : {}),
        });
      }
      const approved = this.o.requireMinorApproval
        ? await this.o.store.approvedMinors(channel)
        : undefined;
      const awaitingApproval = new Set<string>();
      const step = (c: RolloutCluster) => nextStep(c.version, target);
      const decision = planRollout(candidates, step);
      if (approved) {
        // a cluster whose next step is a new minor nobody approved is not started
        decision.start = decision.start.filter(name => {
          const c = candidates.find(x => x.name === name)!;
          const next = minorOf(step(c)!);
          if (next === minorOf(c.version) || approved.has(next)) return true;
          awaitingApproval.add(next);
          return false;
        });
      }
      const refused: ChannelReport['refused'] = [];
      for (const name of decision.start) {
        const c = candidates.find(x => x.name === name)!;
        try {
          await this.o.service.update(
            name,
            { version: step(c)! },
            {
              actor: 'control-plane',
              requestId: `channel-${rollout}-${name}`,
            },
            { rollout, healthBefore: c.health },
          );
        } catch (error) {
          refused.push({
            cluster: name,
            reason: String((error as Error).message),
          });
        }
      }
      if (decision.halted) {
        this.o.logger.warn(`rollout ${rollout} halted: ${decision.halted}`);
      }
      reports.push({
        channel,
        target,
        ...decision,
        refused,
        awaitingApproval: [...awaitingApproval].sort(),
        nextWindows: Object.fromEntries(
          candidates
            .filter(c => step(c) !== undefined)
            .map(c => [
              c.name,
              nextMaintenanceWindow(
                members.find(m => m.id === c.name)!.maintenanceWindow,
                now,
              )?.toISO() ?? null,
            ]),
        ),
      });
    }
    return reports;
  }
}

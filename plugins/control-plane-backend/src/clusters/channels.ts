/**
 * Channel automation as pure decisions: whether a maintenance window is open, the next step
 * of a cluster toward its channel's version, and which clusters of a channel to upgrade now,
 * in waves (one canary, then one cell at a time), halting when an upgrade failed or a
 * cluster's health dropped after its upgrade.
 */
import {
  kubernetesRelease,
  MaintenanceWindow,
  weekdays,
} from '@idp-multicloud/plugin-control-plane-common';
import { DateTime } from 'luxon';

const minor = (v: string) => Number(/^1\.(\d+)/.exec(v)?.[1] ?? NaN);

/** Whether `now` is inside the window (no window: any time is). */
export function inMaintenanceWindow(
  window: MaintenanceWindow | undefined,
  now: DateTime,
): boolean {
  if (!window) return true;
  const local = now.setZone(window.timeZone);
  if (!local.isValid) return false;
  const [h, m] = window.start.split(':').map(Number);
  // A window opened yesterday may still be open now (it can run past midnight).
  for (const back of [0, 1]) {
    const day = local.minus({ days: back });
    if (!window.days.includes(weekdays[day.weekday - 1])) continue;
    const opens = day.set({ hour: h, minute: m, second: 0, millisecond: 0 });
    const closes = opens.plus({ minutes: window.durationMinutes });
    if (local >= opens && local < closes) return true;
  }
  return false;
}

/** When the window next opens at or after `now` (now, when it is open). */
export function nextMaintenanceWindow(
  window: MaintenanceWindow | undefined,
  now: DateTime,
): DateTime | undefined {
  if (!window) return undefined;
  if (inMaintenanceWindow(window, now)) return now;
  const local = now.setZone(window.timeZone);
  const [h, m] = window.start.split(':').map(Number);
  for (let d = 0; d <= 7; d++) {
    const day = local.plus({ days: d });
    if (!window.days.includes(weekdays[day.weekday - 1])) continue;
    const opens = day.set({ hour: h, minute: m, second: 0, millisecond: 0 });
    if (opens >= local) return opens;
  }
  return undefined;
}

/**
 * The version a cluster at `current` upgrades to on its way to `target`: one minor at a
 * time (the newest patch of the next minor), or the target's patch within the same minor.
 * Undefined when it is there.
 */
export function nextStep(current: string, target: string): string | undefined {
  const from = minor(current);
  const to = minor(target);
  if (from > to || current === target) return undefined;
  if (from === to) {
    return target.split('.').length === 3 && current !== target
      ? target
      : undefined;
  }
  const next = `1.${from + 1}`;
  return to === from + 1
    ? target
    : kubernetesRelease(next)?.latestPatch ?? next;
}

/** A cluster of a channel as the rollout planner sees it. */
export interface RolloutCluster {
  name: string;
  cell: string;
  /** The version it runs (observed control plane, else desired). */
  version: string;
  inWindow: boolean;
  /** An operation is changing it now. */
  busy: boolean;
  health: number;
  /** Its latest upgrade to the step version, if any. */
  upgrade?: { state: string; healthBefore?: number };
}

/** What to do on a channel now. */
export interface RolloutDecision {
  /** Clusters to upgrade now. */
  start: string[];
  /** Why the rollout stopped, when it did. */
  halted?: string;
  /** The waves, in order: the canary first, then a cell each. */
  waves: string[][];
  /** The wave under way (its index), or waves.length when every cluster is done. */
  wave: number;
}

/** How many points of health an upgraded cluster may lose before the rollout halts. */
export const HEALTH_DROP_HALT = 15;

/**
 * Plans the rollout of `step` on one channel's clusters. Waves: the first cluster by name
 * (the canary), then the others grouped by cell (cells by name). A wave starts once every
 * cluster of the waves before it is done; a failed upgrade, or a cluster whose health fell by
 * more than {@link HEALTH_DROP_HALT} points after its upgrade, halts the rest.
 */
export function planRollout(
  clusters: RolloutCluster[],
  step: (c: RolloutCluster) => string | undefined,
): RolloutDecision {
  const sorted = [...clusters].sort((a, b) => a.name.localeCompare(b.name));
  const waves: string[][] = [];
  if (sorted.length) {
    waves.push([sorted[0].name]);
    const cells = new Map<string, string[]>();
    for (const c of sorted.slice(1)) {
      cells.set(c.cell, [...(cells.get(c.cell) ?? []), c.name]);
    }
    for (const cell of [...cells.keys()].sort()) waves.push(cells.get(cell)!);
  }
  const byName = new Map(sorted.map(c => [c.name, c]));
  for (const c of sorted) {
    if (c.upgrade && ['failed', 'compensated'].includes(c.upgrade.state)) {
      return {
        start: [],
        waves,
        wave: waves.findIndex(w => w.includes(c.name)),
        halted: `the upgrade of ${c.name} ${c.upgrade.state}`,
      };
    }
    if (
      c.upgrade?.state === 'succeeded' &&
      c.upgrade.healthBefore !== undefined &&
      c.health < c.upgrade.healthBefore - HEALTH_DROP_HALT
    ) {
      return {
        start: [],
        waves,
        wave: waves.findIndex(w => w.includes(c.name)),
        halted: `the health of ${c.name} fell from ${c.upgrade.healthBefore} to ${c.health} after its upgrade`,
      };
    }
  }
  const done = (c: RolloutCluster) => !c.busy && step(c) === undefined;
  for (let i = 0; i < waves.length; i++) {
    const members = waves[i].map(n => byName.get(n)!);
    if (members.every(done)) continue;
    return {
      start: members
        .filter(c => !c.busy && step(c) !== undefined && c.inWindow)
        .map(c => c.name),
      waves,
      wave: i,
    };
  }
  return { start: [], waves, wave: waves.length };
}

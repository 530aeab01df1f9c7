import { Config, readDurationFromConfig } from '@backstage/config';
import { durationToMilliseconds } from '@backstage/types';
import { ApprovalRule } from './approvals';

/** The module's settings (see config.d.ts). */
export interface GitHubSettings {
  owner: string;
  repo: string;
  /** The GitHub host whose `integrations.github` entry gives the API and credentials. */
  host: string;
  baseUrl?: string;
  token?: string;
  webhookSecret?: string;
  pollIntervalMs: number;
  review: { namespaces: string[]; tiers: string[] };
  approvals: ApprovalRule[];
}

/** Reads `controlPlane.github`; undefined when it names no repository. */
export function readGitHubSettings(root: Config): GitHubSettings | undefined {
  const config = root.getOptionalConfig('controlPlane.github');
  const owner = config?.getOptionalString('owner');
  const repo = config?.getOptionalString('repo');
  if (!config || !owner || !repo) return undefined;
  let poll = 60_000;
  if (typeof config.getOptional('pollInterval') === 'string') {
    poll = parseSimpleDuration(config.getString('pollInterval'));
  } else if (config.has('pollInterval')) {
    poll = durationToMilliseconds(
      readDurationFromConfig(config, { key: 'pollInterval' }),
    );
  }
  return {
    owner,
    repo,
    host: config.getOptionalString('host') ?? 'github.com',
    baseUrl: config.getOptionalString('baseUrl'),
    token: config.getOptionalString('token'),
    webhookSecret: config.getOptionalString('webhookSecret'),
    pollIntervalMs: poll,
    review: {
      namespaces: config.getOptionalStringArray('review.namespaces') ?? [],
      tiers: config.getOptionalStringArray('review.tiers') ?? [],
    },
    approvals: (config.getOptionalConfigArray('approvals') ?? []).map(r => ({
      kinds: r.getOptionalStringArray('kinds') ?? ['Resource'],
      tiers: r.getOptionalStringArray('tiers'),
      namespaces: r.getOptionalStringArray('namespaces'),
      count: r.getOptionalNumber('count') ?? 1,
      teams: r.getOptionalStringArray('teams'),
      fromOwner: r.getOptionalBoolean('fromOwner') ?? false,
    })),
  };
}

/** `30s`, `5m`, `1h` in milliseconds. */
function parseSimpleDuration(raw: string): number {
  const match = /^(\d+)\s*(ms|s|m|h)$/.exec(raw.trim());
  if (!match) {
    throw new Error(
      `controlPlane.github.pollInterval: '${raw}' is not a duration like 30s, 5m or 1h`,
    );
  }
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[
    match[2] as 'ms' | 's' | 'm' | 'h'
  ];
  return Number(match[1]) * unit;
}

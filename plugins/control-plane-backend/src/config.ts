import { readDurationFromConfig } from '@backstage/config';
import { Config } from '@backstage/config';
import { Duration } from 'luxon';
import { resolve } from 'node:path';
import {
  ScoreWeights,
  scoreWeightsSchema,
  describeIssues,
  toValidationIssues,
  tierIds,
} from '@idp-multicloud/plugin-control-plane-common';
import { BreakerPolicy, defaultBreakerPolicy } from './health/breaker';
import { defaultPriceList, mergePrices, PriceList } from './scheduling/pricing';

export interface ControlPlaneConfig {
  dataDir: string;
  /** `controlPlane.clusters`: how long an empty cluster waits before it is proposed for decommission. */
  clusters?: { idleFor: Duration };
  stateRepo: {
    path: string;
    branch: string;
    remote?: { url: string };
    pollInterval: Duration;
    bootstrap: boolean;
    bootstrapDriver: string;
  };
  idempotencyRetention: Duration;
  /** The audit keys (see audit/AuditKeys.ts: loadAuditKeyring). */
  audit: {
    /** The current key; when unset, the one kept in `keyFile` (generated on first start). */
    key?: string;
    /** Keys used before a rotation, kept so older events and commits verify. */
    previousKeys: string[];
    keyFile: string;
  };
  orchestration: {
    enabled: boolean;
    concurrency: number;
    lease: Duration;
    pollInterval: Duration;
    readyPollInterval: Duration;
    backoff: { base: Duration; max: Duration };
    /** How creates and updates wait for a GitOps tool's verdict (with a delivery module). */
    delivery: { pollInterval: Duration; timeout: Duration };
  };
  reconciler: { interval: Duration; driftInterval: Duration };
  /** The deploy engine: how often a paused deployment looks for a promotion or approval. */
  deployments: {
    pollInterval: Duration;
    metricsProvider?: string;
    trafficRouter?: string;
  };
  /** The shipped price tables with `controlPlane.pricing` merged over them. */
  pricing: PriceList;
  /** Score weights per tier, over the built-in defaults. */
  schedulingWeights: Record<string, Partial<ScoreWeights>>;
  health: {
    window: Duration;
    probeInterval: Duration;
    breaker: BreakerPolicy;
  };
}

/** The shipped price tables, with `controlPlane.pricing` merged over them. */
function readPricing(config: Config | undefined): PriceList {
  const overrides = config
    ?.getOptionalConfig('pricing')
    ?.get<Record<string, unknown>>();
  return mergePrices(defaultPriceList(), overrides ?? {});
}

function readWeights(
  config: Config | undefined,
): Record<string, Partial<ScoreWeights>> {
  const weights = config?.getOptionalConfig('scheduling.weights');
  const result: Record<string, Partial<ScoreWeights>> = {};
  for (const tier of weights?.keys() ?? []) {
    if (!(tierIds as readonly string[]).includes(tier)) {
      throw new Error(
        `controlPlane.scheduling.weights.${tier}: not a tier (${tierIds.join(
          ', ',
        )})`,
      );
    }
    const parsed = scoreWeightsSchema.partial().safeParse(weights!.get(tier));
    if (!parsed.success) {
      throw new Error(
        `controlPlane.scheduling.weights.${tier}: ${describeIssues(
          toValidationIssues(parsed.error),
        )}`,
      );
    }
    result[tier] = parsed.data;
  }
  return result;
}

function readHealth(config: Config | undefined): ControlPlaneConfig['health'] {
  const breaker = config?.getOptionalConfig('breaker');
  const d = defaultBreakerPolicy;
  const policy: BreakerPolicy = {
    consecutiveFailures:
      breaker?.getOptionalNumber('consecutiveFailures') ??
      d.consecutiveFailures,
    failureRate: breaker?.getOptionalNumber('failureRate') ?? d.failureRate,
    minCalls: breaker?.getOptionalNumber('minCalls') ?? d.minCalls,
    cooldownMs: duration(
      breaker,
      'openDuration',
      Duration.fromMillis(d.cooldownMs),
    ).toMillis(),
    probeSuccesses:
      breaker?.getOptionalNumber('probeSuccesses') ?? d.probeSuccesses,
  };
  const window = duration(
    config,
    'window',
    Duration.fromObject({ minutes: 5 }),
  );
  const probeInterval = duration(
    config,
    'probeInterval',
    Duration.fromObject({ seconds: 5 }),
  );
  const problems = [
    policy.consecutiveFailures >= 1 &&
    Number.isInteger(policy.consecutiveFailures)
      ? undefined
      : 'breaker.consecutiveFailures must be a whole number of at least 1',
    policy.failureRate > 0 && policy.failureRate <= 1
      ? undefined
      : 'breaker.failureRate must be in (0, 1]',
    policy.minCalls >= 1 ? undefined : 'breaker.minCalls must be at least 1',
    policy.probeSuccesses >= 1
      ? undefined
      : 'breaker.probeSuccesses must be at least 1',
    policy.cooldownMs > 0 ? undefined : 'breaker.openDuration must be positive',
    window.as('minutes') >= 1 ? undefined : 'window must be at least a minute',
    probeInterval.toMillis() > 0 ? undefined : 'probeInterval must be positive',
  ].filter(Boolean);
  if (problems.length > 0) {
    throw new Error(`controlPlane.health: ${problems.join('; ')}`);
  }
  return { window, probeInterval, breaker: policy };
}

function duration(
  config: Config | undefined,
  key: string,
  fallback: Duration,
): Duration {
  if (!config?.has(key)) return fallback;
  const value = config.get(key);
  if (typeof value === 'string') {
    const parsed = Duration.fromISO(value);
    if (!parsed.isValid) {
      throw new Error(
        `controlPlane ${key}: not an ISO-8601 duration or HumanDuration: ${value}`,
      );
    }
    return parsed;
  }
  return Duration.fromObject(readDurationFromConfig(config, { key }));
}

function readBackoff(config: Config | undefined) {
  const base = duration(config, 'base', Duration.fromMillis(250));
  const max = duration(config, 'max', Duration.fromObject({ seconds: 30 }));
  if (base.toMillis() <= 0 || max.toMillis() < base.toMillis()) {
    throw new Error(
      'controlPlane.orchestration.backoff: base must be positive and max at least base',
    );
  }
  return { base, max };
}

/** Reads `controlPlane.*` with its defaults (see config.d.ts). */
export function readControlPlaneConfig(root: Config): ControlPlaneConfig {
  const config = root.getOptionalConfig('controlPlane');
  const dataDir = resolve(
    config?.getOptionalString('dataDir') ?? './data/control-plane',
  );
  const repo = config?.getOptionalConfig('stateRepo');
  const retention = duration(
    config?.getOptionalConfig('idempotency'),
    'retention',
    Duration.fromObject({ hours: 24 }),
  );
  if (retention.as('hours') < 24) {
    throw new Error(
      'controlPlane.idempotency.retention must be at least 24 hours',
    );
  }
  const remoteUrl = repo?.getOptionalString('remote.url');
  const orchestration = config?.getOptionalConfig('orchestration');
  const reconciler = config?.getOptionalConfig('reconciler');
  const audit = config?.getOptionalConfig('audit');
  const auditKey = audit?.getOptionalString('key');
  if (auditKey !== undefined && auditKey.length < 16) {
    throw new Error('controlPlane.audit.key must be at least 16 characters');
  }
  const idleFor = duration(
    config?.getOptionalConfig('clusters'),
    'idleFor',
    Duration.fromObject({ days: 7 }),
  );
  if (idleFor.toMillis() <= 0) {
    throw new Error('controlPlane.clusters.idleFor must be positive');
  }
  return {
    dataDir,
    clusters: { idleFor },
    stateRepo: {
      path: resolve(dataDir, repo?.getOptionalString('path') ?? 'state.git'),
      branch: repo?.getOptionalString('branch') ?? 'main',
      ...(remoteUrl ? { remote: { url: remoteUrl } } : {}),
      pollInterval: duration(
        repo,
        'pollInterval',
        Duration.fromObject({ seconds: 5 }),
      ),
      bootstrap: repo?.getOptionalBoolean('bootstrap') ?? true,
      bootstrapDriver:
        repo?.getOptionalString('bootstrapDriver') ?? 'simulated',
    },
    idempotencyRetention: retention,
    audit: {
      ...(auditKey ? { key: auditKey } : {}),
      previousKeys: audit?.getOptionalStringArray('previousKeys') ?? [],
      keyFile: resolve(dataDir, 'audit.key'),
    },
    orchestration: {
      enabled: orchestration?.getOptionalBoolean('enabled') ?? true,
      concurrency: orchestration?.getOptionalNumber('concurrency') ?? 16,
      lease: duration(
        orchestration,
        'lease',
        Duration.fromObject({ seconds: 15 }),
      ),
      pollInterval: duration(
        orchestration,
        'pollInterval',
        Duration.fromMillis(250),
      ),
      readyPollInterval: duration(
        orchestration,
        'readyPollInterval',
        Duration.fromMillis(500),
      ),
      backoff: readBackoff(orchestration?.getOptionalConfig('backoff')),
      delivery: {
        pollInterval: duration(
          orchestration?.getOptionalConfig('delivery'),
          'pollInterval',
          Duration.fromObject({ seconds: 5 }),
        ),
        timeout: duration(
          orchestration?.getOptionalConfig('delivery'),
          'timeout',
          Duration.fromObject({ minutes: 10 }),
        ),
      },
    },
    deployments: {
      pollInterval: duration(
        config?.getOptionalConfig('deployments'),
        'pollInterval',
        Duration.fromObject({ seconds: 2 }),
      ),
      metricsProvider: config
        ?.getOptionalConfig('deployments')
        ?.getOptionalString('metricsProvider'),
      trafficRouter: config
        ?.getOptionalConfig('deployments')
        ?.getOptionalString('trafficRouter'),
    },
    reconciler: {
      interval: duration(
        reconciler,
        'interval',
        Duration.fromObject({ seconds: 10 }),
      ),
      driftInterval: duration(
        reconciler,
        'driftInterval',
        Duration.fromObject({ seconds: 60 }),
      ),
    },
    pricing: readPricing(config),
    schedulingWeights: readWeights(config),
    health: readHealth(config?.getOptionalConfig('health')),
  };
}

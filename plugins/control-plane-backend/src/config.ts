import { readDurationFromConfig } from '@backstage/config';
import { Config } from '@backstage/config';
import { Duration } from 'luxon';
import { resolve } from 'node:path';
import { defaultPriceList, PriceList } from './scheduling/pricing';

export interface ControlPlaneConfig {
  dataDir: string;
  stateRepo: {
    path: string;
    branch: string;
    remote?: { url: string };
    pollInterval: Duration;
    bootstrap: boolean;
    bootstrapDriver: string;
  };
  idempotencyRetention: Duration;
  orchestration: {
    enabled: boolean;
    concurrency: number;
    lease: Duration;
    pollInterval: Duration;
    readyPollInterval: Duration;
    backoff: { base: Duration; max: Duration };
  };
  reconciler: { interval: Duration; driftInterval: Duration };
  /** The default price list with `controlPlane.pricing` merged over it. */
  pricing: PriceList;
}

/** Merges configured prices over the defaults, table by table. */
function readPricing(config: Config | undefined): PriceList {
  const p = config?.getOptionalConfig('pricing');
  if (!p) return defaultPriceList;
  const table = <T>(key: string, base: Record<string, T>) => {
    const c = p.getOptionalConfig(key);
    if (!c) return base;
    const merged: Record<string, T> = { ...base };
    for (const k of c.keys()) {
      const v = c.get(k) as T;
      merged[k] =
        typeof v === 'object' && v !== null ? { ...(base[k] ?? {}), ...v } : v;
    }
    return merged;
  };
  return {
    hourly: table('hourly', defaultPriceList.hourly),
    storagePerGiMonth:
      p.getOptionalNumber('storagePerGiMonth') ??
      defaultPriceList.storagePerGiMonth,
    objectStoragePerGiMonth: table(
      'objectStoragePerGiMonth',
      defaultPriceList.objectStoragePerGiMonth,
    ),
    providers: table('providers', defaultPriceList.providers),
  };
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
  return {
    dataDir,
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
  };
}

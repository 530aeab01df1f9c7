import { routeRequest } from '@idp-multicloud/plugin-control-plane-node';
import { SimulatorFault } from '../config';
import { normalDraw, poissonDraw, seededRandom } from './random';
import { SimulatedRoute } from './SimulatedTrafficRouter';
import { SeriesKey, WorkloadSeries } from './WorkloadSeries';

/** How the simulated workloads behave when nothing is wrong with them. */
export interface TrafficProfile {
  /** Requests per second to each routed resource, spread evenly over its cells. */
  requestsPerSecond: number;
  /** The share (0..1) of requests that carry `x-canary: true`. */
  headerShare: number;
  /** The share (0..1) of requests that fail anyway. */
  baseErrorRate: number;
  /** The median latency of a request, in milliseconds (log-normal, p99 about 2.3 times it). */
  medianLatencyMs: number;
  /** The seed of every draw. */
  seed: number;
}

/** The defaults of {@link TrafficProfile}. */
export const defaultTrafficProfile: TrafficProfile = {
  requestsPerSecond: 50,
  headerShare: 0.02,
  baseErrorRate: 0.002,
  medianLatencyMs: 60,
  seed: 1,
};

/** The spread of the log-normal latency: p99 = median x e^(2.326 sigma), about 2.3x. */
const latencySigma = 0.35;

/** What a misbehaving version adds to its requests at a time. */
export interface Misbehaviour {
  errorRate: number;
  extraLatencyMs: number;
}

/** The misbehaviour in force for a version of a resource at `now` (the faults combined). */
export function misbehaviourOf(
  faults: SimulatorFault[],
  ref: string,
  version: string,
  now: number,
): Misbehaviour {
  const result: Misbehaviour = { errorRate: 0, extraLatencyMs: 0 };
  for (const fault of faults) {
    if (fault.kind !== 'misbehaving-version') continue;
    if (fault.ref !== ref || fault.version !== version) continue;
    result.errorRate = Math.max(result.errorRate, fault.rate ?? 0);
    result.extraLatencyMs += fault.delayMs ?? 0;
    if (fault.leakMsPerMinute) {
      const minutes = Math.max(0, now - Date.parse(fault.createdAt)) / 60_000;
      result.extraLatencyMs += fault.leakMsPerMinute * minutes;
    }
  }
  return result;
}

/**
 * The requests one tick sends to one resource, per version.
 * @public
 */
export interface TickSummary {
  ref: string;
  /** By version: requests, and how many carried the canary header. */
  versions: Map<string, { requests: number; headerMatched: number }>;
}

/**
 * The simulated clients: every tick, each routed resource gets a Poisson number of requests
 * (mean `requestsPerSecond` x the tick), spread over its cells, some carrying
 * `x-canary: true`. Each request goes where the resource's routing sends it
 * ({@link routeRequest}), fails with the base error rate plus its version's misbehaviour, and
 * takes a log-normal latency plus its version's extra latency. All chance comes from one seeded
 * generator, so the same ticks give the same series.
 */
export class TrafficGenerator {
  private readonly random: () => number;

  constructor(
    private readonly series: WorkloadSeries,
    private readonly profile: TrafficProfile = defaultTrafficProfile,
  ) {
    this.random = seededRandom(profile.seed);
  }

  /** Sends one tick of `durationMs` ending at `now` to every route. */
  tick(
    routes: SimulatedRoute[],
    faults: SimulatorFault[],
    now: number,
    durationMs: number,
  ): TickSummary[] {
    return routes.map(route => this.tickRoute(route, faults, now, durationMs));
  }

  private tickRoute(
    { target, routing }: SimulatedRoute,
    faults: SimulatorFault[],
    now: number,
    durationMs: number,
  ): TickSummary {
    const cells = target.cells.length > 0 ? target.cells : ['default'];
    const count = poissonDraw(
      this.random,
      (this.profile.requestsPerSecond * durationMs) / 1000,
    );
    // Per version and cell: each request's latency, and the failures.
    const served = new Map<
      string,
      { key: SeriesKey; latencies: number[]; errors: number }
    >();
    const summary: TickSummary = { ref: target.ref, versions: new Map() };
    const misbehaving = new Map<string, Misbehaviour>();
    for (let i = 0; i < count; i++) {
      const cell = cells[Math.floor(this.random() * cells.length)];
      const headerMatched = this.random() < this.profile.headerShare;
      const version = routeRequest(
        routing,
        { cell, headers: headerMatched ? { 'x-canary': 'true' } : {} },
        this.random(),
      );
      const id = JSON.stringify([version, cell]);
      let bucket = served.get(id);
      if (!bucket) {
        bucket = {
          key: {
            ref: target.ref,
            namespace: target.namespace,
            name: target.name,
            version,
            cell,
          },
          latencies: [],
          errors: 0,
        };
        served.set(id, bucket);
      }
      let misbehaviour = misbehaving.get(version);
      if (!misbehaviour) {
        misbehaviour = misbehaviourOf(faults, target.ref, version, now);
        misbehaving.set(version, misbehaviour);
      }
      const errorRate = Math.min(
        1,
        this.profile.baseErrorRate + misbehaviour.errorRate,
      );
      if (this.random() < errorRate) bucket.errors++;
      bucket.latencies.push(
        this.profile.medianLatencyMs *
          Math.exp(latencySigma * normalDraw(this.random)) +
          misbehaviour.extraLatencyMs,
      );
      const counts = summary.versions.get(version) ?? {
        requests: 0,
        headerMatched: 0,
      };
      counts.requests++;
      if (headerMatched) counts.headerMatched++;
      summary.versions.set(version, counts);
    }
    for (const { key, latencies, errors } of served.values()) {
      this.series.record(key, now, latencies, errors);
    }
    return summary;
  }
}

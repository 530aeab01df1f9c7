import { HumanDuration } from '@backstage/types';

export interface Config {
  controlPlane?: {
    /**
     * The simulated multicloud: the `simulated` driver, a SIMULATOR that fakes the clouds of
     * every provider whose `driver` is `simulated`. Nothing it provisions exists anywhere real.
     */
    simulator?: {
      /**
       * Whether the module adds the `simulated` driver and its admin API.
       * @defaultValue true
       */
      enabled?: boolean;

      /**
       * How long a new or changed resource stays `provisioning` before it is `ready`:
       * a HumanDuration such as `{ seconds: 2 }`, or a string such as `500ms`, `2s` or `PT2S`.
       * @defaultValue 500ms
       */
      provisioningTime?: HumanDuration | string;

      /**
       * How long a deleted resource stays `deleting` before it is `absent`.
       * @defaultValue 250ms
       */
      deprovisioningTime?: HumanDuration | string;

      /**
       * Latency added to every call, per provider id; `default` applies to providers not
       * listed. A number is milliseconds. Setting this replaces all the defaults.
       * @defaultValue { aws: 5, gcp: 8, azure: 10, oci: 12, default: 5 }
       */
      latency?: {
        [provider: string]: number | HumanDuration | string;
      };

      /**
       * Faults installed at start, in the database so that every replica sees them. Faults of
       * config no longer listed are removed at start; one still listed keeps what is left of
       * its count. The admin API (`/api/control-plane/simulator/faults`) changes them at run
       * time.
       */
      faults?: {
        /**
         * Per provider id, the probability (0..1) that a call fails with a retryable error
         * ("simulated 503 from aws").
         */
        errorRate?: { [provider: string]: number };

        /**
         * Per provider id, the probability (0..1) that a side effect is applied but its answer
         * lost: the call fails with a retryable timeout, and the retry with the same
         * idempotency token must get the first answer without applying again.
         */
        lostResponseRate?: { [provider: string]: number };

        /** Outages: every call fails (retryably) until the fault is lifted. */
        outages?: {
          /** Provider ids, e.g. `oci`. */
          providers?: string[];
          /** Cluster names, e.g. `aws-us-east-1`. */
          clusters?: string[];
        };

        /**
         * Extra delay for the calls made by a saga step. The step of a call is the part of its
         * idempotency token after the first `:` (`<operation id>:apply_claim` is
         * `apply_claim`; a compensation's is `apply_claim:compensate`).
         */
        slowSteps?: Array<{
          step: string;
          /** A number is milliseconds. */
          delay: number | HumanDuration | string;
          /** Only calls to this provider. */
          provider?: string;
          /** Only calls to this cluster. */
          cluster?: string;
          /** Only calls about this resource, e.g. `resource:default/orders-db`. */
          ref?: string;
        }>;

        /**
         * Non-retryable failures of the calls made by a step and/or to a driver method. An
         * `observe` hit by one reports the phase `failed` instead of throwing. One that names
         * a step and no method, provider or cluster fails the step before it runs, so it also
         * fails steps that call no driver (`validate`, `schedule`, `notify`).
         */
        stepFailures?: Array<{
          /** The saga step, e.g. `register_dns` or `apply_claim:compensate`. */
          step?: string;
          /**
           * The driver method: `plan`, `apply`, `observe`, `delete`, `configureNetworking`,
           * `removeNetworking`, `registerDns`, `deregisterDns` or `runOperation`.
           */
          action?: string;
          /** How many calls fail; every one until lifted when left out. */
          times?: number;
          /** The error message. */
          message?: string;
          /** Only calls to this provider. */
          provider?: string;
          /** Only calls to this cluster. */
          cluster?: string;
          /** Only calls about this resource. */
          ref?: string;
        }>;

        /**
         * Versions of resources whose simulated workloads misbehave (only their own traffic:
         * a bad canary beside a good stable version).
         */
        misbehavingVersions?: Array<{
          /** The resource, e.g. `resource:default/shop`. */
          ref: string;
          /** The version, e.g. `1.4.0`. */
          version: string;
          /** The share (0..1) of its requests that fail with a 500, besides the usual ones. */
          errorRate?: number;
          /** Latency added to each of its requests. A number is milliseconds. */
          latency?: number | HumanDuration | string;
          /**
           * Latency added per minute since the fault was installed: a slow leak. A number is
           * milliseconds.
           */
          leakPerMinute?: number | HumanDuration | string;
        }>;
      };

      /**
       * The simulated workloads (module `simulator-workloads`): simulated clients send requests
       * to every resource the simulator's traffic router routes, split as its routing says;
       * their series are served on `/api/control-plane/simulator/metrics`.
       */
      traffic?: {
        /**
         * Whether the clients send requests (the router and `/metrics` work either way).
         * @defaultValue true
         */
        enabled?: boolean;
        /**
         * How often the clients send a batch of requests. A number is milliseconds.
         * @defaultValue 1s
         */
        interval?: number | HumanDuration | string;
        /**
         * Requests per second to each routed resource, spread evenly over its cells.
         * @defaultValue 50
         */
        requestsPerSecond?: number;
        /**
         * The share (0..1) of requests that carry `x-canary: true`.
         * @defaultValue 0.02
         */
        headerShare?: number;
        /**
         * The share (0..1) of requests that fail whatever the version.
         * @defaultValue 0.002
         */
        baseErrorRate?: number;
        /**
         * The median latency of a request (log-normal; the p99 is about 2.3 times it). A
         * number is milliseconds.
         * @defaultValue 60ms
         */
        medianLatency?: number | HumanDuration | string;
        /**
         * The seed of every draw: the same seed and the same routing give the same series.
         * @defaultValue 1
         */
        seed?: number;
      };
    };
  };
}

import { HumanDuration } from '@backstage/types';

export interface Config {
  /** Configuration of the IDP Multicloud control plane. */
  controlPlane?: {
    /** Clusters as managed objects. */
    clusters?: {
      /**
       * Channel automation upgrades clusters to a new Kubernetes minor only once a platform
       * engineer approved it (`POST /clusters/channels/{channel}/approvals`); patches are
       * automatic.
       * @defaultValue false
       */
      requireMinorApproval?: boolean;
      /**
       * How long a managed cluster stays empty (nothing placed on it) before it is proposed
       * for decommission, as a change of its manifest a person approves: never removed
       * silently. A HumanDuration (`{ days: 14 }`) or an ISO-8601 duration (`P14D`).
       * @defaultValue 7 days
       */
      idleFor?: HumanDuration | string;
    };
    /**
     * Where the control plane keeps its files (the local state repository), relative to the
     * backend's working directory.
     * @defaultValue ./data/control-plane
     */
    dataDir?: string;

    /** The state repository: desired state as one YAML manifest per object, in Git. */
    stateRepo?: {
      /**
       * The local bare repository.
       * @defaultValue `<dataDir>/state.git`
       */
      path?: string;
      /**
       * The branch that holds desired state.
       * @defaultValue main
       */
      branch?: string;
      /**
       * A remote the local repository mirrors and pushes to; required when several backend
       * replicas share one database.
       */
      remote?: {
        /** A URL git understands (https://..., ssh://..., or a path). */
        url: string;
      };
      /**
       * How often to look for commits pushed to the repository by hand.
       * @defaultValue { seconds: 5 }
       */
      pollInterval?: HumanDuration | string;
      /**
       * Seed an empty repository with the default tiers and a fleet of providers, cells and
       * clusters acted on by `bootstrapDriver`.
       * @defaultValue true
       */
      bootstrap?: boolean;
      /**
       * The driver of the seeded providers.
       * @defaultValue simulated
       */
      bootstrapDriver?: string;
    };

    /**
     * The audit log's keys. Each audit event is hashed with HMAC-SHA256 under the current
     * key (the chain cannot be rewritten without it), and each commit the control plane
     * makes carries a signature under it (a hand-pushed commit cannot pass for one).
     */
    audit?: {
      /**
       * The current key, at least 16 characters (e.g. `openssl rand -hex 32`). Set the same
       * key on every replica. When unset, a key is generated on first start and kept in
       * `<dataDir>/audit.key`.
       * @visibility secret
       */
      key?: string;
      /**
       * Keys used before a rotation: events and commits made with them still verify. To
       * rotate, move the current key here and set a new `key`.
       * @visibility secret
       */
      previousKeys?: string[];
    };

    /** The saga engine: runs operations in this backend replica. */
    orchestration?: {
      /**
       * Run operations (and the reconciler) in this replica. Turn it off for a replica that
       * only serves the API.
       * @defaultValue true
       */
      enabled?: boolean;
      /**
       * Operations run at once in this replica.
       * @defaultValue 16
       */
      concurrency?: number;
      /**
       * How long a replica holds an operation without a heartbeat; when it dies, another
       * replica resumes its operations after this.
       * @defaultValue { seconds: 15 }
       */
      lease?: HumanDuration | string;
      /**
       * How often an idle replica looks for operations to run.
       * @defaultValue { milliseconds: 250 }
       */
      pollInterval?: HumanDuration | string;
      /**
       * How often waiting steps ask the driver whether a resource is ready.
       * @defaultValue { milliseconds: 500 }
       */
      readyPollInterval?: HumanDuration | string;
      /**
       * With delivery through a GitOps tool (the GitOps module's `controlPlane.delivery`),
       * creates and updates wait, in a `wait_delivered` step, until the tool reports the
       * resource's rendered objects applied and healthy; the resource is not READY before.
       */
      delivery?: {
        /**
         * How often a waiting step asks the tool (Argo CD's API, the Kubernetes API for Flux).
         * @defaultValue { seconds: 5 }
         */
        pollInterval?: HumanDuration | string;
        /**
         * How long a step waits before it fails with the tool's last verdict, and the
         * operation is undone. Counted from its first wait, across restarts.
         * @defaultValue { minutes: 10 }
         */
        timeout?: HumanDuration | string;
      };
      /**
       * Backoff between the attempts of a retried step or compensation: exponential (the
       * ceiling doubles with each attempt) with full jitter, between `base` and `max`. The
       * attempts and step timeouts come from the tier, or the product's `retries` where set.
       */
      backoff?: {
        /**
         * The ceiling of the first delay.
         * @defaultValue { milliseconds: 250 }
         */
        base?: HumanDuration | string;
        /**
         * The largest delay.
         * @defaultValue { seconds: 30 }
         */
        max?: HumanDuration | string;
      };
    };

    /** The deploy engine (rollouts of new versions). */
    deployments?: {
      /**
       * How often a deployment paused until promoted, or awaiting an approval, looks again
       * (a promote or an approval through the API wakes it at once on an idle replica).
       * @defaultValue { seconds: 2 }
       */
      pollInterval?: HumanDuration | string;
      /**
       * The metrics provider (by id, e.g. `prometheus`, `simulator`) of analyses that name
       * none; the first one a module added when unset.
       */
      metricsProvider?: string;
      /**
       * The traffic router (by id, e.g. `simulator`, `gateway-api`) of rollouts that name
       * none; the first one a module added when unset.
       */
      trafficRouter?: string;
    };

    /** The reconciler: closes the gap between desired and observed state. */
    reconciler?: {
      /**
       * How often a pass runs besides the ones triggered by commits and finished operations.
       * @defaultValue { seconds: 10 }
       */
      interval?: HumanDuration | string;
      /**
       * How often drivers are asked for the actual state of READY resources, to find drift.
       * @defaultValue { seconds: 60 }
       */
      driftInterval?: HumanDuration | string;
    };

    /** Idempotency-Key handling of mutating requests. */
    idempotency?: {
      /**
       * How long a key and its first response are kept; at least a day.
       * @defaultValue { hours: 24 }
       */
      retention?: HumanDuration | string;
    };

    /**
     * List prices (USD) for cost estimates, budgets and chargeback, per provider, merged over
     * the tables this package ships (`pricing/<provider>.yaml`: public on-demand list prices
     * of comparable managed services; `default` prices providers without a table). Any single
     * price may be set, e.g. `aws: { hourly: { mysql: { large: 0.3 } } }`; a provider without
     * a shipped table starts from `default`'s.
     */
    pricing?: {
      [provider: string]: {
        /** Hourly price of one replica per product and size class, e.g. mysql.large: 0.356. */
        hourly?: { [product: string]: { [size: string]: number } };
        /** Block storage, per GiB-month. */
        storagePerGiMonth?: number;
        /** Object storage per GiB-month, per storage class (standard, infrequent, archive). */
        objectStoragePerGiMonth?: { [storageClass: string]: number };
      };
    };

    /** The scheduler: how placements are scored. */
    scheduling?: {
      /**
       * Score weights per tier (`critical`, `high`, `medium`, `low`): any of health, cost,
       * utilization, latency and spread, non-negative, normalised by their sum. A Tier's
       * `placement.weights` in the state repository wins over these.
       * @defaultValue critical: health 0.4, cost 0.05, utilization 0.15, latency 0.15,
       * spread 0.25; high: 0.3, 0.15, 0.15, 0.2, 0.2; medium: 0.2, 0.3, 0.2, 0.2, 0.1;
       * low: 0.1, 0.6, 0.2, 0.05, 0.05
       */
      weights?: {
        [tier: string]: {
          health?: number;
          cost?: number;
          utilization?: number;
          latency?: number;
          spread?: number;
        };
      };
    };

    /** Provider health (from driver calls) and each provider's circuit breaker. */
    health?: {
      /**
       * The sliding window health scores and failure rates are computed over (whole minutes).
       * @defaultValue { minutes: 5 }
       */
      window?: HumanDuration | string;
      /**
       * How often the providers whose breaker is half-open are probed (one cheap driver call
       * each).
       * @defaultValue { seconds: 5 }
       */
      probeInterval?: HumanDuration | string;
      /** When a provider's breaker opens and how it closes again. */
      breaker?: {
        /**
         * Failed driver calls in a row that open the breaker.
         * @defaultValue 5
         */
        consecutiveFailures?: number;
        /**
         * Failure rate over the window that opens the breaker, in (0, 1].
         * @defaultValue 0.5
         */
        failureRate?: number;
        /**
         * Calls in the window before the failure rate counts.
         * @defaultValue 10
         */
        minCalls?: number;
        /**
         * How long an open breaker refuses placements before it turns half-open; while
         * half-open, only probes reach the provider.
         * @defaultValue { seconds: 30 }
         */
        openDuration?: HumanDuration | string;
        /**
         * Successful probes in a row that close a half-open breaker (one failure opens it again).
         * @defaultValue 3
         */
        probeSuccesses?: number;
      };
    };
  };
}

import { HumanDuration } from '@backstage/types';

export interface Config {
  /** Configuration of the IDP Multicloud control plane. */
  controlPlane?: {
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
     * List prices (USD) for cost estimates, budgets and chargeback, merged over the built-in
     * table (public on-demand list prices of comparable managed services).
     */
    pricing?: {
      /** Hourly price of one replica per product and size class, e.g. mysql.large: 0.356. */
      hourly?: { [product: string]: { [size: string]: number } };
      /** Block storage, per GiB-month. */
      storagePerGiMonth?: number;
      /** Object storage per GiB-month, per storage class (standard, infrequent, archive). */
      objectStoragePerGiMonth?: { [storageClass: string]: number };
      /** Per provider: a multiplier of compute prices and its own storage price. */
      providers?: {
        [provider: string]: { compute: number; storagePerGiMonth?: number };
      };
    };
  };
}

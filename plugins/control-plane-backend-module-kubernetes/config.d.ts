export interface Config {
  controlPlane?: {
    /** The `kubernetes` driver: resources realised as Crossplane claims on Kubernetes clusters. */
    kubernetes?: {
      /**
       * The clusters the driver acts on. Give each either `url` (with `token` and `caData`) or
       * `kubeconfigPath` (with an optional `context`).
       * @defaultValue [] (no clusters: every call names an unknown cluster)
       */
      clusters?: Array<{
        /** The control plane's id of the cluster, as in its cluster manifest, e.g. `aws-us-east-1`. */
        name: string;
        /**
         * The API server's URL, e.g. `https://k8s.example.com:6443`. A plain `http:` URL is
         * accepted only with `skipTLSVerify: true`.
         */
        url?: string;
        /**
         * A bearer token, e.g. of a service account allowed to manage the claims, network
         * policies, DNS endpoints and connection secrets in the resources' namespaces.
         * @visibility secret
         */
        token?: string;
        /**
         * The API server's CA certificate: PEM, base64-encoded (as `certificate-authority-data`
         * in a kubeconfig). The system's trusted CAs when left out.
         * @visibility secret
         */
        caData?: string;
        /**
         * Accept any certificate from the API server. Only for local clusters.
         * @defaultValue false
         */
        skipTLSVerify?: boolean;
        /** A kubeconfig file to read the cluster and its credentials from, instead of `url`. */
        kubeconfigPath?: string;
        /**
         * The kubeconfig context to use.
         * @defaultValue the kubeconfig's `current-context`
         */
        context?: string;
      }>;

      /**
       * The Crossplane claim each product is realised as, by product id. An entry for a built-in
       * product replaces only the keys it sets; an entry for another product adds it (then
       * `apiVersion` and `kind` are required).
       * @defaultValue mysql: database.idp.multicloud/v1alpha1 MySQLInstance (port 3306);
       * postgres: database.idp.multicloud/v1alpha1 PostgreSQLInstance (5432);
       * redis: cache.idp.multicloud/v1alpha1 RedisCache (6379);
       * kafka: messaging.idp.multicloud/v1alpha1 KafkaCluster (9092);
       * object-bucket: storage.idp.multicloud/v1alpha1 Bucket (443);
       * webapp: apps.idp.multicloud/v1alpha1 WebApp (8080, or its `port` parameter)
       */
      claims?: {
        [product: string]: {
          /** The claim's API group and version, e.g. `database.idp.multicloud/v1alpha1`. */
          apiVersion?: string;
          /** The claim's kind, e.g. `MySQLInstance`. */
          kind?: string;
          /**
           * The port consumers connect to; a resource's own `port` parameter wins.
           * @defaultValue the built-in product's port; none for other products
           */
          port?: number;
          /**
           * The operations the product's compositions react to.
           * @defaultValue the built-in product's operations; none for other products
           */
          operations?: Array<
            | 'failover'
            | 'migrate'
            | 'backup'
            | 'restore'
            | 'scale'
            | 'rotate-credentials'
            | 'upgrade-version'
          >;
        };
      };

      /**
       * Clusters as Cluster API `Cluster`s with a ClusterClass topology, created, upgraded and
       * scaled on a management cluster. Without it, the module manages no cluster lifecycle.
       */
      clusterApi?: {
        /** The `name` of the cluster (under `clusters`) Cluster API runs on. */
        managementCluster: string;
        /** The ClusterClass of every cluster. */
        clusterClass: string;
        /** Where the `Cluster` objects live. @defaultValue idp-clusters */
        namespace?: string;
        /** The providers' driver id it serves. @defaultValue kubernetes */
        driver?: string;
        /** Control plane machines. @defaultValue 3 */
        controlPlaneReplicas?: number;
      };

      /**
       * The `gateway-api` traffic router (module `kubernetes-traffic`): a resource's canary
       * split as an `HTTPRoute` named after it in its namespace, sending to the Services
       * `<name>-stable` and `<name>-canary`. Without `parentRefs` the module adds no router.
       */
      traffic?: {
        /** The Gateways (and listeners) the routes attach to. */
        parentRefs?: Array<{
          /** The Gateway's name. */
          name: string;
          /**
           * The Gateway's namespace.
           * @defaultValue the route's namespace
           */
          namespace?: string;
          /** The Gateway's listener. */
          sectionName?: string;
        }>;
        /**
         * The port of the stable and canary Services.
         * @defaultValue 8080
         */
        port?: number;
        /**
         * The cell of each cluster, by cluster name: per-cell weights apply on the clusters of
         * their cell. A cluster not listed takes the routing's own weight.
         */
        cells?: { [cluster: string]: string };
      };
    };
  };
}

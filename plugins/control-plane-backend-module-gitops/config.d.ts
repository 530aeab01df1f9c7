export interface Config {
  controlPlane?: {
    /**
     * Delivery through Argo CD or Flux (the GitOps module): what runs on each cluster is
     * rendered into a deploy repository, and the tools' sync and health are read back. Without
     * it the module does nothing; with it, a bad value stops the backend at start.
     */
    delivery?: {
      /** The deploy repository. */
      repository: {
        /** A bare git repository on this backend's disk; made when absent. */
        path: string;
        /** The URL Argo CD and Flux clone the deploy repository from. */
        url: string;
        /**
         * A remote each render is pushed to (and fetched from first), e.g. the same
         * repository on GitHub; credentials in the URL or git's credential helper.
         * @visibility secret
         */
        pushUrl?: string;
        /**
         * The branch the renders go to.
         * @defaultValue main
         */
        branch?: string;
        /** @defaultValue IDP Multicloud control plane */
        authorName?: string;
        /** @defaultValue control-plane@idp.multicloud */
        authorEmail?: string;
      };
      /**
       * The Gateway a webapp's rendered HTTPRoute attaches to. Without it webapps get no
       * HTTPRoute.
       */
      parentRefs?: Array<{
        name: string;
        namespace?: string;
        sectionName?: string;
      }>;
      /** Argo CD: an ApplicationSet over the cluster folders, verdicts from its REST API. */
      argocd?: {
        /** Argo CD's URL, e.g. `https://argocd.example.com` (its API is under `/api/v1`). */
        baseUrl: string;
        /**
         * An API token (an account's or a project role's) that may get and update the
         * Applications.
         * @visibility secret
         */
        token: string;
        /**
         * The namespace of Argo CD's ApplicationSet and Applications.
         * @defaultValue argocd
         */
        namespace?: string;
        /**
         * The Argo CD project of the Applications.
         * @defaultValue default
         */
        project?: string;
        /**
         * Applications are named `<applicationPrefix><cluster>`.
         * @defaultValue idp-
         */
        applicationPrefix?: string;
        /** The clusters Argo CD delivers (each an Argo CD cluster of the same name); all when left out. */
        clusters?: string[];
        /**
         * How long one API call may take, in milliseconds.
         * @defaultValue 10000
         */
        timeoutMs?: number;
      };
      /** Flux: a GitRepository and Kustomization per cluster, verdicts from the Kubernetes API. */
      flux?: {
        /** The API server of the cluster Flux runs on, where its Kustomizations live. */
        apiServer: {
          url: string;
          /** @visibility secret */
          token: string;
          /** The API server's CA certificate, base64 PEM. */
          caData?: string;
          /** @defaultValue false */
          skipTLSVerify?: boolean;
        };
        /** @defaultValue flux-system */
        namespace?: string;
        /**
         * How often Flux looks at the repository and re-applies (a Go duration).
         * @defaultValue 1m
         */
        interval?: string;
        /** The clusters Flux delivers; all when left out (Argo CD first when both do). */
        clusters?: string[];
        /**
         * The Secret with each target cluster's kubeconfig (`{{cluster}}` stands for its name),
         * for a Flux that applies to other clusters; without it, to its own cluster.
         */
        kubeConfigSecret?: string;
      };
    };
  };
}

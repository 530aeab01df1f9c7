import { HumanDuration } from '@backstage/types';

export interface Config {
  controlPlane?: {
    /**
     * The state repository on GitHub (or GitHub Enterprise): changes that need review are
     * proposed as pull requests with the plan as a comment and an `idp plan` check run that
     * passes once the approvals policy is met. `controlPlane.stateRepo.remote.url` must be the
     * repository's git URL. Without `owner` and `repo` the module adds nothing.
     */
    github?: {
      /** The repository's owner (organisation or user). */
      owner?: string;
      /** The repository's name. */
      repo?: string;
      /**
       * The GitHub host: its `integrations.github` entry (Backstage's ScmIntegrations) gives the
       * API's base URL and the credentials, a token or a GitHub App installation's.
       * @defaultValue github.com
       */
      host?: string;
      /**
       * The REST API's base URL, to override the integration's `apiBaseUrl`.
       * @defaultValue the integration's apiBaseUrl
       */
      baseUrl?: string;
      /**
       * A token with contents, pull requests and checks permissions, to use instead of the
       * integration's credentials.
       * @defaultValue none: the credentials of the host's integration
       * @visibility secret
       */
      token?: string;
      /**
       * The secret of the repository's webhook (`pull_request`, `pull_request_review`): a
       * delivery whose `X-Hub-Signature-256` does not verify is refused.
       * @defaultValue none: the webhook route refuses every delivery, and only polling runs
       * @visibility secret
       */
      webhookSecret?: string;
      /**
       * How often open proposals are polled (a fallback for missed webhooks).
       * @defaultValue 1 minute
       */
      pollInterval?: HumanDuration | string;
      /** Which changes go through a pull request instead of a commit to the main branch. */
      review?: {
        /** Changes of resources in these namespaces. */
        namespaces?: string[];
        /** Changes of resources of these tiers (before or after the change). */
        tiers?: string[];
      };
      /**
       * Who must approve a proposed change: each rule that applies to an object of the change
       * adds its requirement; a change to which none applies needs one approval.
       */
      approvals?: Array<{
        /**
         * The rule applies to changes of these kinds of object (`Resource`, `Product` (a
         * definition), `Tier`, `Policy`, ...).
         * @defaultValue [Resource]
         */
        kinds?: string[];
        /** The rule applies to resources of these tiers (none: all). */
        tiers?: string[];
        /** The rule applies to resources in these namespaces (none: all). */
        namespaces?: string[];
        /**
         * How many approvals.
         * @defaultValue 1
         */
        count?: number;
        /** One approval must come from a member of one of these GitHub teams of `owner`. */
        teams?: string[];
        /**
         * One approval must come from the owning team: the GitHub team whose slug is the name
         * of the resource's catalog owner group (`group:default/payments` → `payments`).
         */
        fromOwner?: boolean;
      }>;
    };
  };
}

import {
  BuiltinProductId,
  BuiltinProductParameters,
  HealthResponse,
} from '@idp-multicloud/plugin-control-plane-common';
import type { paths } from './generated/openapi';
import { IdpResources, ProductHelper } from './resources';
import type { Operation, Plan, Schemas } from './schemas';
import { MutationOptions } from './transport';

/**
 * What a cluster lifecycle request answers: the commit and the operation it started.
 * @public
 */
export type ClusterAccepted =
  paths['/clusters']['post']['responses'][202]['content']['application/json'];

/**
 * Options of a manifests plan, apply or proposal.
 * @public
 */
export interface ManifestOptions {
  /** Also delete resources of the namespaces in the YAML that it leaves out. */
  prune?: boolean;
  /** Make the breaking changes of product definitions the plan lists. */
  acknowledgeBreaking?: boolean;
}

/**
 * The typed client of the control plane API.
 * @public
 */
export type IdpClient = {
  health(): Promise<HealthResponse>;
  resources: IdpResources;
  operations: {
    create(
      ref: string,
      request: Schemas['CreateOperationRequest'],
      options?: MutationOptions,
    ): Promise<Operation>;
    get(id: string): Promise<Operation>;
    /** Stops an operation in flight; what it did is undone. */
    cancel(id: string, options?: MutationOptions): Promise<Operation>;
    /** Resumes the compensation of an operation parked as needs-attention. */
    retry(id: string, options?: MutationOptions): Promise<Operation>;
  };
  reconciler: {
    /** Runs a reconciler pass now (with `drift`, also looks for drift); for platform engineers. */
    run(
      request?: Schemas['ReconcilerRunRequest'],
      options?: MutationOptions,
    ): Promise<Schemas['ReconcilerRunResponse']>;
  };
  manifests: {
    /** What applying would change; `breaking` and `warnings` say what it breaks and deprecates. */
    plan(yaml: string, options?: ManifestOptions): Promise<Plan>;
    /**
     * Applies manifests as one commit. A breaking change of a product definition needs
     * `acknowledgeBreaking` (else an IdpConflictError names what breaks and whom).
     */
    apply(
      yaml: string,
      options?: MutationOptions & ManifestOptions,
    ): Promise<Plan>;
  };
  catalog: {
    products(): Promise<Schemas['Product'][]>;
    product(id: string): Promise<Schemas['Product']>;
    tiers(): Promise<Schemas['Tier'][]>;
    cells(): Promise<Schemas['Cell'][]>;
    providers(): Promise<Schemas['Provider'][]>;
    clusters(): Promise<Schemas['Cluster'][]>;
    quotas(): Promise<Schemas['Quota'][]>;
    /** Every quota with what its scope uses now. */
    quotaUsage(): Promise<Schemas['QuotaUsage'][]>;
    policies(): Promise<Schemas['Policy'][]>;
  };
  cost: {
    /** The monthly list price of a resource on each provider of a cell, cheapest first. */
    estimate(
      request: Schemas['CostEstimateRequest'],
    ): Promise<Schemas['CostEstimate']>;
    /** Cost accrued over a window, grouped by cell, team, tier, product or provider. */
    chargeback(
      query?: paths['/cost/chargeback']['get']['parameters']['query'],
    ): Promise<Schemas['Chargeback']>;
  };
  audit: {
    list(
      query?: paths['/audit']['get']['parameters']['query'],
    ): Promise<Schemas['AuditPage']>;
    verify(): Promise<Schemas['AuditVerification']>;
  };
  /**
   * A component's (`{ component }`) or a project's (`{ project }`: a catalog System or a
   * namespace) resources as files: Docker Compose, Kubernetes manifests, Terraform (per
   * provider) or KCL. Only the resources the caller may read.
   */
  generate(
    format: paths['/generate/{format}']['get']['parameters']['path']['format'],
    query: paths['/generate/{format}']['get']['parameters']['query'],
  ): Promise<Schemas['GenerateResponse']>;
  gitops: {
    status(): Promise<Schemas['GitopsStatus']>;
    sync(): Promise<Schemas['GitopsSyncResponse']>;
  };
  /** Changes of the state repository (commits), and rollback by revert. */
  changes: {
    /**
     * Proposes manifests for review: a branch and a pull request with the plan, answered
     * with the change id and the pull request (needs a change proposer module, e.g. GitHub).
     */
    propose(
      yaml: string,
      options?: MutationOptions & ManifestOptions,
    ): Promise<Schemas['ChangeProposal']>;
    /** Proposes the revert of a change for review, as a pull request (see `revert`). */
    proposeRevert(
      sha: string,
      options?: MutationOptions,
    ): Promise<Schemas['ChangeProposal']>;
    /** A proposed change: Awaiting approval → Merged → Applied, or Closed. */
    proposal(id: string): Promise<Schemas['ChangeProposal']>;
    /** A resource's changes, newest first (deleted resources too). */
    list(
      resource: string,
      options?: { limit?: number },
    ): Promise<Schemas['ChangeList']>;
    /**
     * Reverts a change (a commit SHA, full or abbreviated) through validation, policy and
     * audit: a create reverted deletes, a delete re-creates, an update restores. A 409 names
     * the later changes it conflicts with.
     */
    revert(
      sha: string,
      options?: MutationOptions,
    ): Promise<Schemas['ChangeRevert']>;
  };
  /** Product definitions as they change: breaking changes applied, and who uses what. */
  definitions: {
    /** Breaking changes of definitions as applied, newest first, with migration guides. */
    changes(query?: {
      product?: string;
      limit?: number;
    }): Promise<Schemas['DefinitionChange'][]>;
    change(id: string): Promise<Schemas['DefinitionChange']>;
    /** Who uses a product (the resources you may read), and its deprecations. */
    usage(product: string): Promise<Schemas['ProductUsage']>;
  };
  /** Clusters as managed objects: their lifecycle operations and health. */
  clusters: {
    list(): Promise<Schemas['Cluster'][]>;
    /** A cluster with its health breakdown and what is placed on it. */
    get(name: string): Promise<Schemas['Cluster']>;
    health(name: string): Promise<Schemas['ClusterHealthHistory']>;
    operations(name: string): Promise<Schemas['ClusterOperation'][]>;
    operation(name: string, id: string): Promise<Schemas['ClusterOperation']>;
    create(
      request: Schemas['ClusterCreateRequest'],
      options?: MutationOptions,
    ): Promise<ClusterAccepted>;
    /** A new version upgrades it, new pool sizes scale it. */
    update(
      name: string,
      request: Schemas['ClusterPatchRequest'],
      options?: MutationOptions,
    ): Promise<ClusterAccepted>;
    drain(
      name: string,
      options?: MutationOptions & { reason?: string },
    ): Promise<ClusterAccepted>;
    /** Returns a drained cluster to service: Ready, the scheduler places on it again. */
    uncordon(name: string, options?: MutationOptions): Promise<ClusterAccepted>;
    /** Refused (409) while anything is placed on it. */
    decommission(
      name: string,
      options?: MutationOptions,
    ): Promise<ClusterAccepted>;
    /** Observes the managed clusters and runs a pass of channel automation now. */
    runAutomation(
      options?: MutationOptions,
    ): Promise<Schemas['ClusterAutomationReport']>;
    /** Lets a channel's clusters move to a new minor (when minors need approval). */
    approveMinor(
      channel: 'rapid' | 'regular' | 'stable',
      minor: string,
      options?: MutationOptions,
    ): Promise<{ channel: string; minor: string }>;
    /** Polls an operation until it ends (succeeded, compensated or failed). */
    wait(
      name: string,
      id: string,
      options?: {
        pollMs?: number;
        timeoutMs?: number;
        onProgress?: (op: Schemas['ClusterOperation']) => void;
      },
    ): Promise<Schemas['ClusterOperation']>;
  };
  /**
   * Deployments: rollouts of new versions (a change of a resource's version starts one), and
   * what people do to a running one.
   */
  deployments: {
    /** A resource's deployments, newest first (without the analysis samples). */
    list(ref: string): Promise<Schemas['Deployment'][]>;
    /** A deployment with its steps, weights and analysis measurements (with samples). */
    get(id: string): Promise<Schemas['Deployment']>;
    /** Ends the pause in progress (`full`: skips every step left, analyses too). */
    promote(
      id: string,
      options?: MutationOptions & { full?: boolean; reason?: string },
    ): Promise<Schemas['Deployment']>;
    /** Holds the deployment at its next step until resumed. */
    pause(
      id: string,
      options?: MutationOptions & { reason?: string },
    ): Promise<Schemas['Deployment']>;
    resume(
      id: string,
      options?: MutationOptions & { reason?: string },
    ): Promise<Schemas['Deployment']>;
    /** Rolls back to the stable version: traffic back, the new version out. */
    abort(
      id: string,
      options?: MutationOptions & { reason?: string },
    ): Promise<Schemas['Deployment']>;
    /** Approves the approval step in progress, as a member of its group. */
    approve(
      id: string,
      options?: MutationOptions & { reason?: string },
    ): Promise<Schemas['Deployment']>;
    /**
     * Asks for an earlier version that succeeded (the one before the running one when left
     * out): a change of the version, deployed like any other.
     */
    rollback(
      ref: string,
      toVersion?: string,
      options?: MutationOptions,
    ): Promise<Schemas['Resource']>;
    /** Which version runs where, with the deployments in progress. */
    versions(
      query?: paths['/versions']['get']['parameters']['query'],
    ): Promise<Schemas['VersionList']['items']>;
  };
  /**
   * Projects (a project is a namespace): the definition of a product a project sees, and the
   * project's compliance report.
   */
  projects: {
    /**
     * The effective definition of a product in a project (its definitions applied over the
     * global product), with each field's origin: the global product or the project's file.
     */
    product(
      project: string,
      id: string,
    ): Promise<Schemas['EffectiveDefinition']>;
    /** Each compliance rule of the project, for it and each resource the caller may read. */
    compliance(project: string): Promise<Schemas['ComplianceReport']>;
  };
  /** Placement experiments: shares of placements scored with other weights. */
  experiments: {
    list(): Promise<Schemas['Experiment'][]>;
    /** An experiment with the outcomes of its arms. */
    get(name: string): Promise<Schemas['Experiment']>;
    create(
      request: Schemas['CreateExperimentRequest'],
      options?: MutationOptions,
    ): Promise<Schemas['Experiment']>;
    stop(
      name: string,
      options?: MutationOptions,
    ): Promise<Schemas['Experiment']>;
  };
  /** Feature flags of platform behaviour, per cell and tier. */
  flags: {
    list(): Promise<Schemas['FeatureFlag'][]>;
    get(name: string): Promise<Schemas['FeatureFlag']>;
    /** Sets a flag everywhere, or in a cell, a tier, or both. */
    set(
      name: string,
      request: Schemas['SetFeatureFlagRequest'],
      options?: MutationOptions,
    ): Promise<Schemas['FeatureFlag']>;
    /** Removes a flag's value in a scope; the next more general one applies. */
    unset(
      name: string,
      scope?: { cell?: string; tier?: Schemas['Tier']['id'] },
      options?: MutationOptions,
    ): Promise<Schemas['FeatureFlag']>;
  };
} & {
  [K in BuiltinProductId as K extends 'object-bucket'
    ? 'objectBucket'
    : K]: ProductHelper<BuiltinProductParameters[K]>;
};

import { EventEmitter } from 'node:events';
import { LoggerService } from '@backstage/backend-plugin-api';
import {
  manifestKey,
  manifestPath,
  ProductSpec,
  stringifyResourceRef,
} from '@idp-multicloud/plugin-control-plane-common';
import { Knex } from 'knex';
import { AuditLog } from './audit/AuditLog';
import { DeferredAudit } from './audit/DeferredAudit';
import { loadAuditKeyring } from './audit/AuditKeys';
import { ControlPlaneConfig } from './config';
import { ResourceEventStore } from './events/ResourceEventStore';
import { bootstrapManifests } from './gitops/bootstrap';
import { ChangeService } from './gitops/ChangeService';
import { commitSigner, GitStateRepo } from './gitops/GitStateRepo';
import { serializeManifest } from './gitops/manifestCodec';
import { ManifestService } from './gitops/ManifestService';
import { RevertService } from './gitops/RevertService';
import { ChangeProposals } from './gitops/ChangeProposals';
import { breakingApprovals, impactRef } from './gitops/migrationGuide';
import {
  DefinitionChangeLog,
  DefinitionChangeNotice,
} from './gitops/DefinitionChangeLog';
import { StateIndexer } from './gitops/StateIndexer';
import { IdempotencyStore } from './idempotency/IdempotencyStore';
import { OperationStore } from './operations/OperationStore';
import { ResourceService } from './requests/ResourceService';
import { ResourceStore } from './resources/ResourceStore';
import { DriverRegistry } from './drivers/DriverRegistry';
import { SagaEngine } from './orchestration/SagaEngine';
import { SagaStore } from './operations/SagaStore';
import { ControlPlaneInstrumentation } from './observability/instrumentation';
import {
  callContext,
  createSagas,
  SagaDependencies,
} from './orchestration/sagas';
import { Reconciler } from './reconciler/Reconciler';
import { DeploymentStore } from './deployments/DeploymentStore';
import {
  DeploymentService,
  deploymentPlanFor,
} from './deployments/DeploymentService';
import { deploySaga, gradualMigrationSaga } from './deployments/saga';
import { DeploymentPlan } from './deployments/plan';
import { Scheduler } from './scheduling/Scheduler';
import { ProviderHealth } from './health/ProviderHealth';
import {
  ChangeProposer,
  DeliveryProvider,
  MetricsProvider,
  PolicyEvaluator,
  TrafficRouter,
} from '@idp-multicloud/plugin-control-plane-node';
import { PolicyService } from './governance/PolicyService';
import { CostService } from './governance/CostService';
import { QuotaGuard } from './governance/QuotaGuard';
import { FeatureFlags } from './governance/FeatureFlags';
import { ExperimentStore } from './scheduling/ExperimentStore';
import { PlacementStore } from './scheduling/PlacementStore';
import { Pricing } from './scheduling/pricing';
import {
  ClusterDriverRegistry,
  ClusterStatus,
} from './clusters/ClusterService';
import { ClusterLifecycle, createClusterLifecycle } from './clusters/lifecycle';
import { Delivery } from './orchestration/delivery';
import { withSyncHold } from './deployments/holdSync';

/** Every store and service of the control plane, wired together. */
export interface ControlPlane {
  db: Knex;
  repo: GitStateRepo;
  audit: AuditLog;
  /** Audit events of refused requests, kept while the database is away. */
  deferredAudit: DeferredAudit;
  events: ResourceEventStore;
  resources: ResourceStore;
  operations: OperationStore;
  indexer: StateIndexer;
  changes: ChangeService;
  resourceService: ResourceService;
  manifests: ManifestService;
  /** Rollback by revert of a change of the state repository. */
  reverts: RevertService;
  /** Changes proposed for review as pull requests (with a change proposer module). */
  proposals: ChangeProposals;
  /** Breaking changes of product definitions as applied, and their owners' notification. */
  definitionChanges: DefinitionChangeLog;
  idempotency: IdempotencyStore;
  drivers: DriverRegistry;
  scheduler: Scheduler;
  health: ProviderHealth;
  policy: PolicyService;
  cost: CostService;
  flags: FeatureFlags;
  experiments: ExperimentStore;
  engine: SagaEngine;
  reconciler: Reconciler;
  /** Clusters as managed objects: their lifecycle operations and health. */
  clusters: ClusterLifecycle;
  deployments: DeploymentStore;
  deploymentService: DeploymentService;
  /** Delivery through a GitOps tool (with a delivery module): renders, verdicts, holds. */
  delivery: Delivery;
  /** Traces, metrics and correlated logs of the engine, the scheduler and the reconciler. */
  instrumentation: ControlPlaneInstrumentation;
  /** Asks background work to run now rather than at its next interval. */
  background: {
    /** A reconciler pass (its failure is logged). */
    reconcile(): void;
    /** The saga engine looks for runnable operations. */
    wakeEngine(): void;
  };
  /** Starts running operations and reconciling (when orchestration is enabled). */
  start(): void;
  /** Stops claiming work and waits for running steps to reach a safe point. */
  stop(): Promise<void>;
}

/**
 * Opens the state repository (seeding an empty one when configured to) and builds the
 * control plane on the given, migrated database. Brings the index up to the repository's
 * head before returning, so a crash between a commit and its indexing loses nothing.
 */
export async function createControlPlane(options: {
  db: Knex;
  config: ControlPlaneConfig;
  logger: LoggerService;
  moduleProducts?: ReadonlyMap<string, ProductSpec>;
  drivers?: DriverRegistry;
  notify?: SagaDependencies['notify'];
  policyEvaluators?: PolicyEvaluator[];
  /** Where changes that need review go (a pull request module). */
  changeProposer?: ChangeProposer;
  clusterDrivers?: ClusterDriverRegistry;
  /** `controlPlane.clusters.requireMinorApproval`: a channel's new minor waits for approval. */
  requireMinorApproval?: boolean;
  /** Traffic routers and metrics providers of the deploy engine, by id (first: default). */
  trafficRouters?: ReadonlyMap<string, TrafficRouter>;
  metricsProviders?: ReadonlyMap<string, MetricsProvider>;
  /** Renders for a GitOps tool and reads its verdict back (a delivery module). */
  deliveryProvider?: DeliveryProvider;
  /** Tells the owners a breaking change of a product definition affects (notifications). */
  notifyOwners?: (notice: DefinitionChangeNotice) => Promise<void>;
}): Promise<ControlPlane> {
  const { db, config, logger } = options;
  const auditKeys = await loadAuditKeyring({
    ...config.audit,
    ...(config.stateRepo.remote ? { warn: m => logger.warn(m) } : {}),
  });
  const repo = await GitStateRepo.open({
    path: config.stateRepo.path,
    branch: config.stateRepo.branch,
    remote: config.stateRepo.remote,
    signer: commitSigner(auditKeys),
  });
  await repo.refresh();
  if (config.stateRepo.bootstrap && !(await repo.head())) {
    const manifests = bootstrapManifests(config.stateRepo.bootstrapDriver);
    await repo.commit({
      parent: undefined,
      changes: [
        {
          path: 'README.md',
          content:
            '# Desired state of the IDP Multicloud control plane\n\nOne YAML manifest per object: resources/<namespace>/<name>.yaml, products/, tiers/, cells/, providers/, clusters/, quotas/.\nEdit, commit and push: the control plane validates each new head and applies it whole, or refuses it whole.\n',
        },
        ...manifests.map(m => ({
          path: manifestPath(manifestKey(m)),
          content: serializeManifest(m),
        })),
      ],
      message:
        'bootstrap the state repository with the default tiers and fleet',
      author: { name: 'control-plane', email: 'control-plane@idp.invalid' },
      trailers: { Action: 'state-repo.bootstrap', Target: 'state-repo' },
    });
    logger.info(`seeded the state repository at ${config.stateRepo.path}`);
  }

  const audit = new AuditLog(db, auditKeys);
  const deferredAudit = new DeferredAudit(
    audit,
    logger.child({ component: 'audit' }),
  );
  const events = new ResourceEventStore(db);
  const resources = new ResourceStore(db, events, audit);
  const operations = new OperationStore(db, events);
  const indexer = new StateIndexer({
    db,
    repo,
    resources,
    events,
    audit,
    logger,
    moduleProducts: options.moduleProducts,
  });
  const drivers = options.drivers ?? new DriverRegistry();
  const health = new ProviderHealth({
    db,
    logger: logger.child({ component: 'provider-health' }),
    policy: config.health.breaker,
    windowMinutes: config.health.window.as('minutes'),
  });
  drivers.setWrapper(driver => health.instrument(driver));
  const flags = new FeatureFlags(db);
  const pricing = new Pricing(config.pricing);
  const placements = new PlacementStore(db);
  const experiments = new ExperimentStore({
    db,
    flags,
    placements,
    resources,
    operations,
  });
  // The cluster lifecycle is built on the scheduler (usage) and feeds it (phase and health).
  const clusterStatus: { read(): Promise<Map<string, ClusterStatus>> } = {
    read: async () => new Map(),
  };
  const scheduler = new Scheduler({
    clusterStatus: () => clusterStatus.read(),
    resources,
    placements,
    drivers,
    providerStatus: health,
    pricing,
    weights: config.schedulingWeights,
    experiments,
  });
  const policy = new PolicyService({
    resources,
    audit,
    pricing,
    evaluators: options.policyEvaluators,
  });
  const cost = new CostService({ resources, placements, pricing });
  const changes = new ChangeService({
    repo,
    indexer,
    audit,
    idempotencyRetention: config.idempotencyRetention,
    admit: (change, record) => policy.admit(change, record),
    review: change => policy.review(change),
    reviewRequired: change => {
      // A breaking change of a definition is reviewed wherever changes can be, and always
      // when a project it affects names who must approve breaking changes.
      const broken = change.breaking ?? [];
      const approvals = breakingApprovals(change.next, broken);
      if (
        broken.length > 0 &&
        (options.changeProposer || approvals.length > 0)
      ) {
        return `A breaking change of ${broken
          .map(i => impactRef(i))
          .join(', ')} needs review as a pull request${
          approvals.length > 0
            ? `, approved by ${approvals
                .map(a => `${a.groups.join(' and ')} (project ${a.project})`)
                .join('; ')}`
            : ''
        }`;
      }
      const objects = [
        ...change.put.map(m => ({ m, action: 'update' as const })),
        ...change.removed.map(m => ({ m, action: 'delete' as const })),
      ].map(({ m, action }) => ({
        kind: 'Resource',
        ref: stringifyResourceRef(m.metadata),
        namespace: m.metadata.namespace,
        action,
        tier: m.spec.tier,
        owner: m.spec.owner,
      }));
      return objects.length > 0 &&
        options.changeProposer?.requiresReview({ actor: change.actor, objects })
        ? `A change of ${objects
            .map(o => o.ref)
            .join(', ')} needs review as a pull request`
        : undefined;
    },
  });
  const idempotency = new IdempotencyStore(db, {
    retention: config.idempotencyRetention,
  });
  const deployments = new DeploymentStore(db);
  const resourceService = new ResourceService({
    db,
    changes,
    resources,
    operations,
    idempotency,
    deployments,
  });
  const manifests = new ManifestService(changes);
  const reverts = new RevertService({ repo, changes });
  const definitionChanges = new DefinitionChangeLog({
    db,
    logger: logger.child({ component: 'definition-changes' }),
    notify: options.notifyOwners,
  });
  const proposals = new ChangeProposals({
    db,
    repo,
    changes,
    manifests,
    audit,
    logger: logger.child({ component: 'change-proposals' }),
    price: (state, proposed, plan) => cost.priced(state, proposed, plan),
    proposer: options.changeProposer,
  });
  proposals.start();
  const clusters = createClusterLifecycle({
    db,
    drivers: options.clusterDrivers ?? new ClusterDriverRegistry(),
    resourceDrivers: drivers,
    events,
    idleFor: config.clusters?.idleFor,
    changes,
    resources,
    resourceService,
    operations,
    scheduler,
    audit,
    logger: logger.child({ component: 'clusters' }),
    leaseMs: config.orchestration.lease.toMillis(),
    requireMinorApproval: options.requireMinorApproval,
    // Idle clusters are proposed for decommission as a change a person approves.
    propose: (manifest, ctx) =>
      proposals.enabled
        ? proposals
            .propose({ manifests: [manifest], prune: false }, ctx)
            .then(p => p.id)
        : undefined,
  });
  clusterStatus.read = () => clusters.service.statuses();

  const instrumentation = new ControlPlaneInstrumentation({
    logger: logger.child({ component: 'saga-engine' }),
  });
  const delivery = new Delivery({
    provider: options.deliveryProvider,
    resources,
    indexer,
    logger: logger.child({ component: 'delivery' }),
  });
  const sagaDependencies: SagaDependencies = {
    db,
    drivers,
    resources,
    scheduler,
    quotas: new QuotaGuard({ resources, pricing, audit }),
    readyPollMs: config.orchestration.readyPollInterval.as('milliseconds'),
    notify: options.notify,
    stage: instrumentation.stage,
    onDecision: instrumentation.onDecision,
    ...(delivery.enabled
      ? {
          delivery: {
            via: delivery,
            pollMs: config.orchestration.delivery.pollInterval.toMillis(),
            timeoutMs: config.orchestration.delivery.timeout.toMillis(),
          },
        }
      : {}),
  };
  const sagas = createSagas(sagaDependencies);
  // A settled operation, a new head indexed or an API request asks for a reconciler pass;
  // the reconciler listens once it is built (it is built on the engine, which it wakes).
  // A replica that only serves the API leaves reconciling to those that orchestrate.
  const passRequests = new EventEmitter();
  const triggerReconciler = () => {
    if (config.orchestration.enabled) passRequests.emit('pass');
  };
  const deployDependencies = {
    saga: sagaDependencies,
    deployments,
    routers: options.trafficRouters ?? new Map(),
    metrics: options.metricsProviders ?? new Map(),
    pollMs: config.deployments.pollInterval.toMillis(),
    defaults: {
      metricsProvider: config.deployments.metricsProvider,
      trafficRouter: config.deployments.trafficRouter,
    },
    onOutcome: instrumentation.onDeploymentOutcome,
    onStep: instrumentation.onDeploymentStep,
    onAnalysis: instrumentation.onAnalysis,
  };
  const engine = new SagaEngine({
    db,
    store: new SagaStore(db, config.orchestration.lease),
    resources,
    events,
    audit,
    indexer,
    logger: logger.child({ component: 'saga-engine' }),
    sagaFor: (type, op) => {
      if (type === 'deploy') {
        return withSyncHold(deploySaga(deployDependencies, op), delivery, op);
      }
      if (type === 'migrate' && op.params.deploymentId) {
        return gradualMigrationSaga(deployDependencies, sagas.migrate, op);
      }
      return sagas[type];
    },
    concurrency: config.orchestration.concurrency,
    pollInterval: config.orchestration.pollInterval,
    lease: config.orchestration.lease,
    backoff: {
      baseMs: config.orchestration.backoff.base.toMillis(),
      maxMs: config.orchestration.backoff.max.toMillis(),
    },
    beforeStep: (step, ctx) => drivers.beforeStep(step, callContext(ctx)),
    instrumentStep: instrumentation.instrumentStep,
    onSettled: (id, state, op) => {
      instrumentation.onSettled(id, state, op);
      triggerReconciler();
    },
  });
  const deploymentService = new DeploymentService({
    db,
    deployments,
    operations,
    audit,
    events,
    wake: () => engine.wake(),
  });
  const reconciler = new Reconciler({
    db,
    indexer,
    resources,
    operations,
    events,
    audit,
    onDrift: instrumentation.onDrift,
    delivery,
    drivers,
    logger: logger.child({ component: 'reconciler' }),
    wake: () => engine.wake(),
    // A new version asked for rolls out as a deployment rather than an update.
    deploymentFor: resource => deploymentPlanFor(resource),
    startDeployment: (trx, resource, plan, reason) =>
      deploymentService.start(trx, resource, plan as DeploymentPlan, {
        actor: 'control-plane',
        reason,
      }),
    // The flag drift.autoCorrect where it is set for the cell or tier, else the cell's policy.
    cellDriftPolicy: async (cell, desired, tier) => {
      const autoCorrect = await flags.lookup('drift.autoCorrect', {
        cell,
        tier,
      });
      if (autoCorrect === undefined) return desired.cell(cell)?.driftPolicy;
      return autoCorrect ? 'correct' : 'warn';
    },
  });
  passRequests.on('pass', () =>
    reconciler
      .pass()
      .catch(error => logger.warn(`reconciler pass failed: ${error}`)),
  );

  const result = await indexer.sync();
  logger.info(
    `state repository index: ${result.status} at ${
      result.commit ?? 'no commit'
    }`,
  );

  let unsubscribe: (() => void) | undefined;
  let unsubscribeNotices: (() => void) | undefined;
  return {
    db,
    repo,
    audit,
    deferredAudit,
    events,
    resources,
    operations,
    indexer,
    changes,
    resourceService,
    manifests,
    reverts,
    proposals,
    definitionChanges,
    idempotency,
    drivers,
    scheduler,
    health,
    policy,
    cost,
    flags,
    experiments,
    engine,
    reconciler,
    clusters,
    deployments,
    deploymentService,
    delivery,
    instrumentation,
    background: {
      reconcile: triggerReconciler,
      wakeEngine: () => engine.wake(),
    },
    start() {
      instrumentation.observeBreakers({
        providers: async () =>
          (await indexer.current())
            .ofKind('Provider')
            .map(p => p.metadata.name),
        breakers: async () =>
          new Map((await health.report()).map(r => [r.provider, r.breaker])),
      });
      // every replica tells the owners of the breaking changes it indexed (an outbox)
      const deliverNotices = () =>
        definitionChanges
          .deliver()
          .catch(error =>
            logger.warn(
              `could not deliver the notices of definition changes: ${error}`,
            ),
          );
      unsubscribeNotices = indexer.onIndexed(synced => {
        if (synced.status === 'indexed' && synced.breaking) deliverNotices();
      });
      deliverNotices();
      if (!config.orchestration.enabled) {
        logger.info(
          'orchestration is disabled in this replica: it serves the API only',
        );
        return;
      }
      unsubscribe = indexer.onIndexed(() => triggerReconciler());
      engine.start();
      clusters.start();
      triggerReconciler();
    },
    async stop() {
      instrumentation.stop();
      unsubscribe?.();
      unsubscribeNotices?.();
      await clusters.stop();
      await engine.stop();
      await health.flush();
    },
  };
}

/**
 * The deploy saga: a deployment's plan run as an operation of the saga engine. Each plan step
 * is one saga step: idempotent, resumable (a step that is not done yet throws StepWait and the
 * engine releases the operation until it is due), compensated in reverse when an analysis
 * fails or someone aborts: the traffic back on the stable version, the new version taken out.
 */
import {
  canTransition,
  Deployment,
  DeploymentMeasurement,
  isDeploymentOver,
} from '@idp-multicloud/plugin-control-plane-common';
import {
  AnalysisCheck,
  DriverError,
  judgeAnalysis,
  MetricsProvider,
  MetricsProviderError,
  TrafficRouter,
  TrafficRouting,
  TrafficTarget,
} from '@idp-multicloud/plugin-control-plane-node';
import { DateTime } from 'luxon';
import {
  awaitPhase,
  callContext,
  SagaDependencies,
  withDriver,
} from '../orchestration/driverAccess';
import {
  ClaimedOperation,
  Saga,
  SagaContext,
  SagaStep,
  StepWait,
} from '../orchestration/types';
import { DeploymentRecord, DeploymentStore } from './DeploymentStore';
import {
  DeploymentPlan,
  PlanStep,
  ResolvedAnalysis,
  weightsAfter,
} from './plan';

/** What the deploy saga needs beyond the other sagas' dependencies. */
export interface DeployDependencies {
  saga: SagaDependencies;
  deployments: DeploymentStore;
  /** The traffic routers by id; the first is the default. */
  routers: ReadonlyMap<string, TrafficRouter>;
  /** The metrics providers by id; the first is the default. */
  metrics: ReadonlyMap<string, MetricsProvider>;
  /** The provider and router a rollout that names none uses (else the first added). */
  defaults?: { metricsProvider?: string; trafficRouter?: string };
  /** How often a pause until promoted, or an approval, is looked at again. @defaultValue 2000 */
  pollMs?: number;
  /** Observes a deployment's end and each step's duration (metrics). */
  onOutcome?(d: DeploymentRecord, outcome: Deployment['phase']): void;
  onStep?(d: DeploymentRecord, step: PlanStep, seconds: number): void;
  onAnalysis?(result: 'pass' | 'fail' | 'inconclusive'): void;
}

/** The params of a deploy operation. */
export interface DeployParams {
  deploymentId: string;
  plan: DeploymentPlan;
}

const first = <V>(map: ReadonlyMap<string, V>) => map.values().next().value;

function pick<V>(
  map: ReadonlyMap<string, V>,
  id: string | undefined,
  what: string,
): V {
  const found = id === undefined ? first(map) : map.get(id);
  if (!found) {
    throw new DriverError(
      id === undefined
        ? `no ${what} is installed: add a backend module that offers one`
        : `no ${what} "${id}" is installed (installed: ${
            [...map.keys()].join(', ') || 'none'
          })`,
      { retryable: false },
    );
  }
  return found;
}

function targetOf(op: ClaimedOperation, plan: DeploymentPlan): TrafficTarget {
  const [namespace, name] = op.resourceRef.replace(/^resource:/, '').split('/');
  return { ref: op.resourceRef, namespace, name, cells: plan.cells };
}

/** The routing once the steps before `upTo` ran (`promoted`: the new version is stable). */
function routingAfter(
  plan: DeploymentPlan,
  upTo: number,
): { routing: TrafficRouting; weights: Deployment['weights'] } {
  const weights = weightsAfter(plan, upTo);
  const headerMatches =
    plan.headerMatch ??
    (plan.strategy === 'blue_green'
      ? { name: 'x-canary', value: 'true' }
      : undefined);
  const routing: TrafficRouting = {
    stable: plan.fromVersion,
    canary: plan.toVersion,
    canaryWeight: weights.canary,
    ...(headerMatches ? { headerMatches: [headerMatches] } : {}),
    ...(weights.cells
      ? {
          cells: Object.entries(weights.cells).map(([cell, canaryWeight]) => ({
            cell,
            canaryWeight,
          })),
        }
      : {}),
  };
  return {
    routing,
    weights: {
      ...weights,
      ...(headerMatches ? { headerMatch: headerMatches } : {}),
    },
  };
}

/** The checks of an analysis: error rate and p99 against their limits, and custom queries. */
export function analysisChecks(
  a: ResolvedAnalysis,
  errorBudget?: number,
): AnalysisCheck[] {
  // The statistical judge: a breach counts only when the new version is also worse than
  // the stable one by rank (Kayenta's way), so a noisy metric does not flip the verdict.
  const compare = a.judge === 'mann-whitney' ? { gatesThreshold: true } : false;
  return [
    {
      metric: 'error-rate',
      worseWhen: 'increase',
      threshold: errorBudget ?? a.maxErrorRate,
      compare,
    },
    {
      metric: 'latency-p99',
      worseWhen: 'increase',
      threshold: a.maxLatencyP99Ms,
      compare,
    },
    ...a.queries.map(
      (q): AnalysisCheck => ({
        metric: q.name,
        worseWhen: q.max !== undefined ? 'increase' : 'decrease',
        threshold: q.max ?? q.min,
        compare,
      }),
    ),
  ];
}

/** The deploy saga of one operation, from its params. */
export function deploySaga(
  deps: DeployDependencies,
  op: ClaimedOperation,
): Saga | undefined {
  const params = op.params as Partial<DeployParams>;
  if (!params.deploymentId || !params.plan?.steps?.length) return undefined;
  const { deploymentId, plan } = params as DeployParams;
  const pollMs = deps.pollMs ?? 2000;
  /**
   * The router of the rollout. A rolling deployment needs none (without one, its batches are
   * the driver's to roll, and only recorded here); a canary or blue/green does.
   */
  const router = (): TrafficRouter | undefined =>
    plan.strategy === 'rolling' &&
    !plan.trafficRouter &&
    deps.routers.size === 0
      ? undefined
      : pick(
          deps.routers,
          plan.trafficRouter ?? deps.defaults?.trafficRouter,
          'traffic router',
        );
  const target = targetOf(op, plan);

  const load = () => deps.deployments.get(deploymentId);

  /** Routes as the plan says after `upTo` steps, and records it. */
  async function route(ctx: SagaContext, upTo: number) {
    const { routing, weights } = routingAfter(plan, upTo);
    await router()?.setRouting(target, routing, {
      idempotencyToken: ctx.idempotencyToken,
      signal: ctx.signal,
    });
    await deps.deployments.progress(deploymentId, { weights });
  }

  /** Routes everything to the stable version (the new one out of traffic). */
  async function routeStable(ctx: SagaContext, version: string) {
    await router()?.setRouting(
      target,
      { stable: version, canaryWeight: 0 },
      { idempotencyToken: ctx.idempotencyToken, signal: ctx.signal },
    );
    await deps.deployments.progress(deploymentId, {
      weights: { canary: 0 },
    });
  }

  /**
   * The resource's health, as its driver observes it where it runs: `ready`, or why not.
   * `wait`: a resource still converging is waited for (the step runs again shortly); one
   * that failed fails the step.
   */
  async function healthy(
    ctx: SagaContext,
    wait: boolean,
  ): Promise<string | undefined> {
    // a migration's resource runs on two placements: the analysis' metrics speak for them
    if (plan.migration) return undefined;
    const observed = await withDriver(
      deps.saga,
      ctx,
      (driver, resource, placement) =>
        driver.observe(resource, placement, callContext(ctx)),
    );
    if (observed.phase === 'ready') return undefined;
    const why = `${observed.phase}${
      observed.message ? `: ${observed.message}` : ''
    }`;
    if (observed.phase === 'failed') {
      throw new DriverError(`health: the resource is ${why}`, {
        retryable: false,
        code: 'Unhealthy',
      });
    }
    if (wait)
      throw new StepWait(
        pollMs,
        `waiting for the resource to be healthy (${why})`,
      );
    return why;
  }

  /** Marks the step running (once), and returns the deployment and when the step began. */
  async function begin(index: number): Promise<{
    d: DeploymentRecord;
    startedAt: number;
  }> {
    let d = await load();
    if (d.steps[index]?.state !== 'running' || !d.steps[index].startedAt) {
      const startedAt = DateTime.utc().toISO();
      await deps.deployments.progress(deploymentId, {
        currentStep: index,
        step: { index, state: 'running', startedAt },
      });
      d = await load();
    }
    return { d, startedAt: Date.parse(d.steps[index].startedAt!) };
  }

  /** Waits (Paused, with why) until `ready`; back to Progressing once it is. */
  async function holdUntil(
    d: DeploymentRecord,
    ready: boolean,
    why: string,
    delayMs = pollMs,
  ) {
    if (!ready) {
      if (d.phase !== 'Paused') {
        await deps.deployments.transition(deploymentId, 'Paused', {
          message: why,
        });
      }
      throw new StepWait(delayMs, why);
    }
    if (d.phase === 'Paused') {
      await deps.deployments.transition(deploymentId, 'Progressing', {
        message: '',
      });
    }
  }

  async function measure(
    ctx: SagaContext,
    index: number,
    step: PlanStep,
    startedAt: number,
  ) {
    const analysis = step.analysis!;
    const provider = pick(
      deps.metrics,
      analysis.provider ?? deps.defaults?.metricsProvider,
      'metrics provider',
    );
    // With all the traffic on the new version, the stable one serves nothing to compare
    // with: the limits judge alone.
    const weights = weightsAfter(plan, index);
    const alone = step.cells
      ? step.cells.every(c => (weights.cells?.[c] ?? 0) >= 100)
      : weights.canary >= 100;
    const checks = analysisChecks(
      alone ? { ...analysis, judge: 'threshold' } : analysis,
    );
    const cells = step.cells ?? [undefined];
    const done = await deps.deployments.measurements(deploymentId, {
      step: index,
      withSamples: false,
    });
    const byIndex = new Map<number, DeploymentMeasurement[]>();
    for (const m of done) {
      byIndex.set(m.index, [...(byIndex.get(m.index) ?? []), m]);
    }
    /** A measurement's verdict over its cells: the worst of them. */
    const verdictOf = (ms: DeploymentMeasurement[]) => {
      if (ms.some(m => m.verdict === 'fail')) return 'fail';
      if (ms.some(m => m.verdict === 'inconclusive')) return 'inconclusive';
      return 'pass';
    };
    const tally = () => {
      const verdicts = [...byIndex.values()].map(verdictOf);
      return {
        passed: verdicts.filter(v => v === 'pass').length,
        failed: verdicts.filter(v => v === 'fail').length,
        total: verdicts.length,
      };
    };
    const stepSeconds = Math.max(
      1,
      Math.round(analysis.intervalMs / 1000 / 10),
    );
    for (;;) {
      const { passed, failed, total } = tally();
      if (failed >= analysis.failureLimit) {
        const failures = [...byIndex.values()]
          .flat()
          .filter(m => m.verdict === 'fail')
          .flatMap(m =>
            m.metrics
              .filter(x => x.verdict === 'fail')
              .map(x => `${x.metric}: ${x.reasons.join('; ')}`),
          );
        throw new DriverError(
          `analysis failed (${failed} of ${total} measurements): ${failures.join(
            ' | ',
          )}`,
          { retryable: false, code: 'AnalysisFailed' },
        );
      }
      if (passed >= analysis.count) return { passed, total };
      if (total >= analysis.count * 3) {
        throw new DriverError(
          `analysis inconclusive: ${total} measurements, ${passed} passed; is the new version getting traffic, and the metrics provider data?`,
          { retryable: false, code: 'AnalysisInconclusive' },
        );
      }
      const n = total + 1;
      const windowStart = startedAt + (n - 1) * analysis.intervalMs;
      const windowEnd = windowStart + analysis.intervalMs;
      const wait = windowEnd - Date.now();
      if (wait > 0) throw new StepWait(wait, `measurement ${n} is due`);
      const measured: DeploymentMeasurement[] = [];
      for (const cell of cells) {
        const window = {
          start: new Date(windowStart),
          end: new Date(windowEnd),
          stepSeconds,
        };
        const series = async (version: string, metric: string) => {
          const check = analysis.queries.find(q => q.name === metric);
          try {
            return await provider.query({
              ...(check
                ? { metric: 'custom' as const, query: check.query }
                : { metric: metric as 'error-rate' | 'latency-p99' }),
              target: {
                ref: op.resourceRef,
                namespace: target.namespace,
                name: target.name,
                version,
                ...(cell ? { cell } : {}),
              },
              window,
              signal: ctx.signal,
            });
          } catch (error) {
            if (error instanceof MetricsProviderError) {
              throw new DriverError(`${provider.id}: ${error.message}`, {
                retryable: error.retryable,
                code: 'MetricsProvider',
                cause: error,
              });
            }
            throw error;
          }
        };
        const samples = new Map<
          string,
          {
            canary: [number, number][];
            baseline: [number, number][];
          }
        >();
        for (const check of checks) {
          const [canary, baseline] = await Promise.all([
            series(plan.toVersion, check.metric),
            series(plan.fromVersion, check.metric),
          ]);
          samples.set(check.metric, {
            canary: canary.samples.map(s => [s.time, s.value]),
            baseline: baseline.samples.map(s => [s.time, s.value]),
          });
        }
        const judgement = judgeAnalysis(
          checks,
          new Map(
            [...samples].map(([metric, s]) => [
              metric,
              {
                canary: s.canary.map(x => x[1]),
                baseline: s.baseline.map(x => x[1]),
              },
            ]),
          ),
        );
        // the built-in health check: the resource as its driver observes it
        const unhealthy = await healthy(ctx, false);
        const health = {
          metric: 'health',
          verdict: unhealthy ? ('fail' as const) : ('pass' as const),
          reasons: unhealthy ? [`the resource is ${unhealthy}`] : [],
          canary: [],
          baseline: [],
        };
        const m: DeploymentMeasurement = {
          step: index,
          index: n,
          ...(cell ? { cell } : {}),
          verdict: unhealthy ? 'fail' : judgement.verdict,
          metrics: [
            health,
            ...judgement.metrics.map(j => ({
              metric: j.metric,
              verdict: j.verdict,
              reasons: j.reasons,
              ...(j.threshold
                ? {
                    threshold: {
                      limit: j.threshold.limit,
                      kind: j.threshold.kind,
                    },
                  }
                : {}),
              ...(j.canary.median !== undefined
                ? { canaryMedian: j.canary.median }
                : {}),
              ...(j.baseline.median !== undefined
                ? { baselineMedian: j.baseline.median }
                : {}),
              ...(j.comparison
                ? {
                    pValue: j.comparison.pValue,
                    effectSize: j.comparison.probabilityOfSuperiority,
                  }
                : {}),
              canary: samples.get(j.metric)?.canary ?? [],
              baseline: samples.get(j.metric)?.baseline ?? [],
            })),
          ],
          startedAt: new Date(windowStart).toISOString(),
          endedAt: new Date(windowEnd).toISOString(),
        };
        await deps.deployments.recordMeasurement(deploymentId, m);
        deps.onAnalysis?.(m.verdict);
        measured.push(m);
      }
      byIndex.set(n, measured);
    }
  }

  const stepOf = (step: PlanStep, index: number): SagaStep => {
    const name = `${index}:${step.kind}${
      step.weight !== undefined && step.kind !== 'promote'
        ? `-${step.weight}`
        : ''
    }`;
    const finish = async (d: DeploymentRecord, startedAt: number) => {
      const finishedAt = DateTime.utc().toISO();
      await deps.deployments.progress(deploymentId, {
        step: { index, state: 'succeeded', finishedAt },
        ...(index + 1 < plan.steps.length ? { currentStep: index + 1 } : {}),
      });
      deps.onStep?.(d, step, (Date.parse(finishedAt) - startedAt) / 1000);
    };
    const base: SagaStep = {
      name,
      // Waits are short runs; a step's own work is a routing change or a query.
      timeoutMs: () => 120_000,
      async run(ctx) {
        const { d, startedAt } = await begin(index);
        if (isDeploymentOver(d.phase)) {
          throw new DriverError(`deployment ${d.id} is already ${d.phase}`, {
            retryable: false,
          });
        }
        // Someone paused it: hold at this step until resumed (a promote also resumes).
        await holdUntil(
          d,
          !d.control.paused,
          `paused by a person before ${step.description}`,
        );
        switch (step.kind) {
          case 'start':
          case 'setWeight':
          case 'switch':
            await route(ctx, index + 1);
            break;
          case 'batch':
            // a batch is done when the resource is healthy again
            await route(ctx, index + 1);
            await healthy(ctx, true);
            break;
          case 'pause': {
            const promoted =
              d.control.full || d.control.promoted.includes(index);
            if (step.durationMs === undefined) {
              await holdUntil(d, promoted, 'paused: promote to continue');
            } else if (!promoted) {
              const left = startedAt + step.durationMs - Date.now();
              if (left > 0) throw new StepWait(left, step.description);
            }
            break;
          }
          case 'scaleDown': {
            const left = startedAt + (step.durationMs ?? 0) - Date.now();
            if (left > 0 && !d.control.full) {
              throw new StepWait(left, step.description);
            }
            break;
          }
          case 'approval': {
            const approved = d.control.approvals.some(a => a.step === index);
            await holdUntil(d, approved, `awaiting approval by ${step.group}`);
            break;
          }
          case 'analysis':
            if (!d.control.full) await measure(ctx, index, step, startedAt);
            break;
          case 'promote':
            await promote(ctx);
            break;
          default:
            break;
        }
        await finish(d, startedAt);
        return { step: index };
      },
    };
    switch (step.kind) {
      case 'start':
        // Last to be undone: the new version out of traffic (the outcome is written with the
        // operation's end, in onFailure).
        return {
          ...base,
          compensate: ctx => routeStable(ctx, plan.fromVersion),
        };
      case 'setWeight':
      case 'batch':
      case 'switch':
        // Undone at once: the traffic back where it was before this step.
        return { ...base, compensate: ctx => route(ctx, index) };
      case 'analysis':
        return {
          ...base,
          async run(ctx) {
            try {
              return await base.run(ctx);
            } catch (error) {
              if (error instanceof DriverError && !error.retryable) {
                await deps.deployments.progress(deploymentId, {
                  step: {
                    index,
                    state: 'failed',
                    finishedAt: DateTime.utc().toISO(),
                  },
                  message: error.message,
                });
              }
              throw error;
            }
          },
          // The first thing a rollback does: the resource is DEGRADED until it is back.
          async compensate() {
            await moveResource('DEGRADED', 'rolling back a deployment');
          },
        };
      default:
        return base;
    }
  };

  async function moveResource(to: 'DEGRADED' | 'READY', reason: string) {
    const { resources, db } = deps.saga;
    await db.transaction(async trx => {
      const current = await resources.getByUid(op.resourceUid, trx);
      if (
        !current ||
        current.status.state === to ||
        !canTransition(current.status.state, to)
      ) {
        return;
      }
      await resources.transition(
        op.resourceUid,
        current.status.state,
        to,
        { actor: op.actor, reason, operationId: op.id },
        trx,
      );
    });
  }

  /** The desired spec applied (the new version now the stable one), READY, all traffic on it. */
  async function promote(ctx: SagaContext) {
    // a migration's target runs already: the migrate saga's steps moved it there
    if (plan.migration) {
      await routeStable(ctx, plan.toVersion);
      return;
    }
    await withDriver(deps.saga, ctx, async (driver, resource, placement) => {
      await driver.apply(resource, placement, callContext(ctx));
      const observed = await awaitPhase(
        deps.saga,
        ctx,
        driver,
        resource,
        placement,
        ['ready', 'failed'],
      );
      if (observed.phase === 'failed') {
        throw new DriverError(
          `${resource.ref} failed on ${placement.cluster}: ${
            observed.message ?? 'no reason given'
          }`,
          { retryable: false },
        );
      }
    });
    await routeStable(ctx, plan.toVersion);
  }

  const steps = plan.steps.map(stepOf);
  const last = steps[steps.length - 1];
  steps[steps.length - 1] = {
    ...last,
    async persist(trx, ctx, result) {
      await last.persist?.(trx, ctx, result);
      if (!plan.migration) {
        await deps.saga.resources.updateStatus(trx, op.resourceUid, {
          version: plan.toVersion,
        });
      }
      const ended = await deps.deployments.transition(
        deploymentId,
        'Succeeded',
        {
          message: plan.migration
            ? `${plan.toVersion} serves all traffic; ${plan.fromVersion} is gone`
            : `${plan.toVersion} is the stable version`,
        },
        trx,
      );
      deps.onOutcome?.(ended, 'Succeeded');
    },
  };
  return {
    type: 'deploy',
    steps,
    transitions: { success: 'READY', failure: 'READY' },
    realisesGeneration: true,
    // With the resource back to READY, in one transaction: RolledBack after a failed
    // analysis, Aborted on demand, Failed otherwise.
    async onFailure(trx, end) {
      const d = await deps.deployments.get(deploymentId, trx);
      if (isDeploymentOver(d.phase)) return;
      const analysisFailed = d.steps.some(
        (s, i) => s.state === 'failed' && plan.steps[i].kind === 'analysis',
      );
      let outcome: Deployment['phase'] = 'Failed';
      if (end.cancelled || d.control.aborted) outcome = 'Aborted';
      else if (analysisFailed) outcome = 'RolledBack';
      const message =
        outcome === 'Aborted'
          ? `aborted by ${d.control.abortedBy ?? 'a person'}; ${
              plan.fromVersion
            } restored`
          : `${d.message || end.why}; ${plan.fromVersion} restored`;
      const ended = await deps.deployments.transition(
        deploymentId,
        outcome,
        { message },
        trx,
      );
      deps.onOutcome?.(ended, outcome);
    },
  };
}

/**
 * A gradual migration: the migrate saga with the deployment's traffic steps between the
 * target's readiness (and data sync) and the switch of the name to it, and the deployment's
 * end after the source is gone. A failed analysis undoes it all in reverse: traffic back on the
 * source, the target removed; the resource stays where it was, READY.
 */
export function gradualMigrationSaga(
  deps: DeployDependencies,
  migrate: Saga,
  op: ClaimedOperation,
): Saga | undefined {
  const deploy = deploySaga(deps, op);
  if (!deploy) return undefined;
  const at = migrate.steps.findIndex(s => s.name === 'switch_traffic');
  if (at < 0) throw new Error('the migrate saga has no switch_traffic step');
  const traffic = deploy.steps.slice(0, -1);
  const end = deploy.steps[deploy.steps.length - 1];
  return {
    ...migrate,
    steps: [
      ...migrate.steps.slice(0, at),
      ...traffic,
      ...migrate.steps.slice(at),
      end,
    ],
    transitions: { ...migrate.transitions, failure: 'READY' },
    onFailure: deploy.onFailure,
  };
}

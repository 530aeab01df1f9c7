import { LoggerService } from '@backstage/backend-plugin-api';
import { OperationState } from '@idp-multicloud/plugin-control-plane-common';
import { DriverError } from '@idp-multicloud/plugin-control-plane-node';
import { trace } from '@opentelemetry/api';
import { performance } from 'node:perf_hooks';
import { BreakerState, ControlPlaneMetrics } from './metrics';
import { attributes, inSpan, operationContext } from './tracing';

// What the instrumentation sees of what it observes. It declares it here, rather than
// importing the engine's, the scheduler's or the resources' types (which satisfy these), so
// that the domain can use tracing without an import cycle.

type Placement = { provider?: string; cluster?: string; cell?: string };

/** An operation in a saga engine's hands (the engine's ClaimedOperation). */
export interface ObservedOperation {
  id: string;
  type: string;
  resourceRef: string;
  traceId?: string;
  spanId?: string;
}

/** A resource, as a step, a decision or drift concern it. */
export interface ObservedResourceRecord {
  spec: { tier: string; cell: string; product: string };
  status: { placement?: Placement | null };
}

/** A run of a saga step (the engine's StepRunInfo). */
export interface ObservedStepRun {
  attempt: number;
  phase: 'run' | 'compensate';
  resource: ObservedResourceRecord;
  /** Results of the steps completed so far, by step name. */
  results: Readonly<Record<string, unknown>>;
}

/** A placement decision (the scheduler's SchedulingDecision). */
export interface ObservedDecision {
  selected?: { provider: string; cell: string; cluster: string };
  candidates: Array<{ rejected: Array<{ filter: string }> }>;
}

/** The placement a step acts on: this run's schedule result, else the resource's. */
function placementOf(info: ObservedStepRun): Placement | undefined {
  const scheduled = (info.results.schedule as { placement?: Placement })
    ?.placement;
  return scheduled ?? info.resource.status.placement ?? undefined;
}

function placementAttributes(placement: Placement | undefined) {
  return {
    ...(placement?.provider
      ? { [attributes.provider]: placement.provider }
      : {}),
    ...(placement?.cluster ? { [attributes.cluster]: placement.cluster } : {}),
  };
}

/**
 * The hooks through which the control plane is observed: a span and a duration per saga
 * step (in the operation's trace), a span per scheduling stage, metrics of placement
 * decisions, operations, drift and breakers, and structured logs carrying the ids of what
 * they are about. `controlPlane.ts` wires them into the engine, the sagas and the reconciler.
 */
export class ControlPlaneInstrumentation {
  readonly metrics: ControlPlaneMetrics;

  constructor(
    private readonly options: {
      logger: LoggerService;
      metrics?: ControlPlaneMetrics;
    },
  ) {
    this.metrics = options.metrics ?? new ControlPlaneMetrics();
  }

  /** The engine's `instrumentStep`: a span in the operation's trace, a duration, a log line. */
  readonly instrumentStep = <T>(
    op: ObservedOperation,
    step: string,
    fn: () => Promise<T>,
    info: ObservedStepRun,
  ): Promise<T> => {
    const { resource, phase, attempt } = info;
    const started = performance.now();
    const logger = this.options.logger.child({
      operationId: op.id,
      traceId: op.traceId,
      step,
    });
    return inSpan(
      phase === 'compensate' ? `saga compensate ${step}` : `saga step ${step}`,
      {
        [attributes.operationId]: op.id,
        [attributes.operationType]: op.type,
        [attributes.resourceRef]: op.resourceRef,
        [attributes.step]: step,
        [attributes.phase]: phase,
        [attributes.attempt]: attempt,
        [attributes.tier]: resource.spec.tier,
        [attributes.cell]: resource.spec.cell,
        [attributes.product]: resource.spec.product,
        ...placementAttributes(placementOf(info)),
      },
      async span => {
        let outcome: 'succeeded' | 'failed' = 'failed';
        try {
          const result = await fn();
          outcome = 'succeeded';
          span.setAttributes(
            placementAttributes(
              (result as { placement?: Placement } | undefined)?.placement,
            ),
          );
          return result;
        } catch (error) {
          const retryable = error instanceof DriverError && error.retryable;
          span.setAttribute(attributes.retryable, retryable);
          logger.warn(
            `${phase === 'compensate' ? 'compensation' : 'step'} failed: ${
              (error as Error)?.message ?? error
            }`,
            { attempt, phase, retryable },
          );
          throw error;
        } finally {
          const seconds = (performance.now() - started) / 1000;
          span.setAttribute(attributes.outcome, outcome);
          this.metrics.sagaStepDuration.record(seconds, {
            step,
            operation_type: op.type,
            outcome,
            phase,
          });
          if (outcome === 'succeeded') {
            logger.debug(`${phase === 'compensate' ? 'undone' : 'done'}`, {
              attempt,
              phase,
              durationMs: Math.round(seconds * 1000),
            });
          }
        }
      },
      operationContext(op),
    );
  };

  /** The scheduler's stage runner: one span per stage (filter, score, select). */
  readonly stage = <T>(name: string, fn: () => T): T =>
    inSpan(`scheduling ${name}`, { [attributes.stage]: name }, span => {
      const result = fn();
      if (Array.isArray(result)) {
        span.setAttribute(attributes.candidates, result.length);
      }
      return result;
    });

  /** Records a placement decision: its duration, its placement and every gate's refusals. */
  readonly onDecision = (
    decision: ObservedDecision,
    info: { resource: ObservedResourceRecord; durationMs: number },
  ): void => {
    const { tier } = info.resource.spec;
    const { selected } = decision;
    this.metrics.schedulingDuration.record(info.durationMs / 1000, {
      tier,
      outcome: selected ? 'placed' : 'unschedulable',
    });
    if (selected) {
      this.metrics.placements.add(1, {
        provider: selected.provider,
        cell: selected.cell,
        tier,
      });
    }
    for (const candidate of decision.candidates) {
      for (const { filter } of candidate.rejected) {
        this.metrics.gateRejections.add(1, { gate: filter });
      }
    }
    // The active span is the schedule step's.
    trace.getActiveSpan()?.setAttributes({
      [attributes.candidates]: decision.candidates.length,
      [attributes.qualified]: decision.candidates.filter(
        c => c.rejected.length === 0,
      ).length,
      ...(selected
        ? {
            [attributes.provider]: selected.provider,
            [attributes.cluster]: selected.cluster,
          }
        : {}),
    });
  };

  /** An operation reached an end state. */
  /** A deployment ended. */
  readonly onDeploymentOutcome = (
    d: { plan: { strategy: string } },
    outcome: string,
  ): void => {
    this.metrics.deployments.add(1, { strategy: d.plan.strategy, outcome });
    if (outcome === 'RolledBack' || outcome === 'Aborted') {
      this.metrics.rollbacks.add(1, { strategy: d.plan.strategy });
    }
  };

  /** A deployment step ended, `seconds` after it began. */
  readonly onDeploymentStep = (
    d: { plan: { strategy: string } },
    step: { kind: string },
    seconds: number,
  ): void => {
    this.metrics.deploymentStepDuration.record(seconds, {
      strategy: d.plan.strategy,
      step: step.kind,
    });
  };

  /** One measurement of an analysis. */
  readonly onAnalysis = (result: string): void => {
    this.metrics.analysisRuns.add(1, { result });
  };

  readonly onSettled = (
    operationId: string,
    state: OperationState,
    op: ObservedOperation,
  ): void => {
    this.metrics.operations.add(1, { type: op.type, outcome: state });
    this.options.logger.info(`${op.type} ${state}`, {
      operationId,
      traceId: op.traceId,
      resourceRef: op.resourceRef,
      operationType: op.type,
      outcome: state,
    });
  };

  /** The reconciler reported drift. */
  readonly onDrift = (
    resource: ObservedResourceRecord,
    _fields: string[],
  ): void => {
    this.metrics.drift.add(1, {
      cell: resource.spec.cell,
      product: resource.spec.product,
    });
  };

  /** Reports the breakers of the fleet's providers and of every provider seen. */
  observeBreakers(source: {
    providers(): Promise<string[]>;
    breakers(): Promise<Map<string, BreakerState>>;
  }): void {
    this.metrics.observeBreakers(async () => {
      const breakers = await source.breakers();
      const all = new Map<string, BreakerState>();
      for (const provider of await source.providers()) {
        all.set(provider, 'closed');
      }
      for (const [provider, state] of breakers) all.set(provider, state);
      return all;
    });
  }

  stop(): void {
    this.metrics.stopObserving();
  }
}

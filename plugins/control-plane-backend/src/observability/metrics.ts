import {
  Counter,
  Histogram,
  Meter,
  metrics,
  ObservableCallback,
  ObservableGauge,
} from '@opentelemetry/api';
import { INSTRUMENTATION_SCOPE } from './tracing';

/** `idp_circuit_breaker_state`: 0 closed, 1 half-open, 2 open. */
export const breakerStateValue = {
  closed: 0,
  'half-open': 1,
  open: 2,
} as const;

/** A provider's circuit breaker, as the metrics report it. */
export type BreakerState = keyof typeof breakerStateValue;

/** Buckets of a placement decision, in seconds (a decision takes about a millisecond). */
const schedulingBuckets = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
];
/** Buckets of a saga step, in seconds (from a validation to a long wait for readiness). */
const stepBuckets = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300,
  600,
];

/**
 * The control plane's metrics, recorded through the OpenTelemetry API: whichever meter
 * provider the backend registered (e.g. the Prometheus exporter of the example backend)
 * exports them; without one they cost nothing. Names, labels and meanings are listed in the
 * plugin's README.
 */
export class ControlPlaneMetrics {
  readonly placements: Counter;
  readonly gateRejections: Counter;
  readonly schedulingDuration: Histogram;
  readonly sagaStepDuration: Histogram;
  readonly operations: Counter;
  readonly drift: Counter;
  readonly deployments: Counter;
  readonly analysisRuns: Counter;
  readonly rollbacks: Counter;
  readonly deploymentStepDuration: Histogram;
  private readonly breakerState: ObservableGauge;
  private breakerCallback?: ObservableCallback;

  constructor(meter: Meter = metrics.getMeter(INSTRUMENTATION_SCOPE)) {
    this.placements = meter.createCounter('idp_placements_total', {
      description:
        'Placement decisions that selected a cluster, by provider, cell and tier',
    });
    this.gateRejections = meter.createCounter('idp_gate_rejections_total', {
      description:
        'Candidate clusters refused by a scheduling filter (gate), one per candidate and gate, per decision',
    });
    this.schedulingDuration = meter.createHistogram(
      'idp_scheduling_duration_seconds',
      {
        description:
          'Time to decide a placement: gathering the candidates and running filter, score and select',
        unit: 's',
        advice: { explicitBucketBoundaries: schedulingBuckets },
      },
    );
    this.breakerState = meter.createObservableGauge(
      'idp_circuit_breaker_state',
      {
        description:
          'Circuit breaker of each provider: 0 closed, 1 half-open, 2 open',
      },
    );
    this.sagaStepDuration = meter.createHistogram(
      'idp_saga_step_duration_seconds',
      {
        description:
          'Duration of each attempt of a saga step (or of its compensation), by step, operation type and outcome',
        unit: 's',
        advice: { explicitBucketBoundaries: stepBuckets },
      },
    );
    this.operations = meter.createCounter('idp_operations_total', {
      description: 'Operations that reached an end state, by type and outcome',
    });
    this.drift = meter.createCounter('idp_drift_detected_total', {
      description:
        'Drift reports: a resource found to differ from its desired state (reported once while it stays the same under the warn policy)',
    });
    this.deployments = meter.createCounter('idp_deployments_total', {
      description: 'Deployments that ended, by strategy and outcome',
    });
    this.analysisRuns = meter.createCounter('idp_analysis_runs_total', {
      description:
        'Measurements of deployment analyses, by result (pass, fail, inconclusive)',
    });
    this.rollbacks = meter.createCounter('idp_rollbacks_total', {
      description:
        'Deployments rolled back to their stable version (a failed analysis, or aborted)',
    });
    this.deploymentStepDuration = meter.createHistogram(
      'idp_deployment_step_duration_seconds',
      {
        description:
          'Time from the start of a deployment step to its end (waits included), by strategy and step kind',
        unit: 's',
        advice: { explicitBucketBoundaries: stepBuckets },
      },
    );
  }

  /**
   * Reports the breakers as `states()` reads them at each collection (from the database, so
   * every replica reports the same). Replaces an earlier source.
   */
  observeBreakers(states: () => Promise<Map<string, BreakerState>>): void {
    this.stopObserving();
    const callback: ObservableCallback = async result => {
      for (const [provider, state] of await states()) {
        result.observe(breakerStateValue[state], { provider });
      }
    };
    this.breakerCallback = callback;
    this.breakerState.addCallback(callback);
  }

  stopObserving(): void {
    if (this.breakerCallback) {
      this.breakerState.removeCallback(this.breakerCallback);
      this.breakerCallback = undefined;
    }
  }
}

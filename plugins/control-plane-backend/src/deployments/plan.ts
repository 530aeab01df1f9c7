/**
 * A deployment's plan: the strategy of a rollout turned into the ordered list of steps a
 * deploy saga runs, and the routing in force after each one. Pure.
 */
import {
  AnalysisSpec,
  analysisSpecSchema,
  defaultCanarySteps,
  DeploymentStrategy,
  rolloutDurationMs,
  RolloutSpec,
  RolloutStep,
} from '@idp-multicloud/plugin-control-plane-common';
import { defaultAnalysisThresholds } from '@idp-multicloud/plugin-control-plane-node';

/** An analysis with every default applied. */
export interface ResolvedAnalysis {
  provider?: string;
  intervalMs: number;
  count: number;
  failureLimit: number;
  maxErrorRate: number;
  maxLatencyP99Ms: number;
  judge: 'threshold' | 'mann-whitney';
  queries: { name: string; query: string; max?: number; min?: number }[];
}

/** One step of a plan. */
export interface PlanStep {
  kind:
    | 'start'
    | 'setWeight'
    | 'pause'
    | 'analysis'
    | 'approval'
    | 'batch'
    | 'switch'
    | 'scaleDown'
    | 'promote';
  description: string;
  /** The wave (0-based) when the rollout goes in waves. */
  wave?: number;
  /** The cells the step acts on (a wave's); every cell when absent. */
  cells?: string[];
  /** setWeight, batch, switch: the new version's share of traffic there, in percent. */
  weight?: number;
  /** pause (absent: until promoted), scaleDown: how long. */
  durationMs?: number;
  analysis?: ResolvedAnalysis;
  /** approval: who must approve. */
  group?: string;
}

/** A plan: the steps, and what the saga needs to route and measure. */
export interface DeploymentPlan {
  strategy: DeploymentStrategy;
  fromVersion: string;
  toVersion: string;
  /** Every cell the resource serves from (the waves' cells, else its own). */
  cells: string[];
  headerMatch?: { name: string; value: string };
  trafficRouter?: string;
  /** The metrics provider the analyses name, if they name one. */
  metricsProvider?: string;
  /**
   * A migration to another provider or cluster: the "versions" are the source's and the
   * target's placements, and the migrate saga's steps surround the plan's.
   */
  migration?: boolean;
  steps: PlanStep[];
}

/** What the plan is made for. */
export interface PlanInput {
  rollout: RolloutSpec;
  fromVersion: string;
  toVersion: string;
  /** The resource's own cell. */
  cell: string;
  /** How many replicas the resource runs (rolling batches). */
  replicas: number;
  /** The tier's analysis limits, when it sets them. */
  limits?: { maxErrorRate?: number; maxLatencyP99Ms?: number };
}

export function resolveAnalysis(
  base: Partial<AnalysisSpec> | undefined,
  override: Partial<AnalysisSpec> | undefined,
  limits: PlanInput['limits'],
): ResolvedAnalysis {
  const spec = analysisSpecSchema.parse({ ...base, ...override });
  return {
    ...(spec.provider ? { provider: spec.provider } : {}),
    intervalMs: rolloutDurationMs(spec.interval),
    count: spec.count,
    failureLimit: spec.failureLimit,
    maxErrorRate:
      spec.maxErrorRate ??
      limits?.maxErrorRate ??
      defaultAnalysisThresholds.maxErrorRate,
    maxLatencyP99Ms:
      spec.maxLatencyP99Ms ??
      limits?.maxLatencyP99Ms ??
      defaultAnalysisThresholds.maxLatencyP99Ms,
    judge: spec.judge,
    queries: spec.queries,
  };
}

function canarySteps(
  input: PlanInput,
  steps: readonly RolloutStep[],
  scope: Pick<PlanStep, 'wave' | 'cells'>,
): PlanStep[] {
  const where = scope.cells ? ` in ${scope.cells.join(', ')}` : '';
  const out: PlanStep[] = [];
  for (const step of steps) {
    if ('setWeight' in step) {
      out.push({
        kind: 'setWeight',
        weight: step.setWeight,
        description: `${step.setWeight}% of traffic to ${input.toVersion}${where}`,
        ...scope,
      });
    } else if ('pause' in step) {
      const durationMs = step.pause.duration
        ? rolloutDurationMs(step.pause.duration)
        : undefined;
      out.push({
        kind: 'pause',
        description: step.pause.duration
          ? `pause ${step.pause.duration}`
          : 'pause until promoted',
        ...(durationMs !== undefined ? { durationMs } : {}),
        ...scope,
      });
    } else if ('analysis' in step) {
      const analysis = resolveAnalysis(
        input.rollout.analysis,
        step.analysis,
        input.limits,
      );
      out.push({
        kind: 'analysis',
        description: `analysis: ${analysis.count} × ${
          analysis.intervalMs / 1000
        }s${where}`,
        analysis,
        ...scope,
      });
    } else if ('approval' in step) {
      out.push({
        kind: 'approval',
        group: step.approval.group,
        description: `approval by ${step.approval.group}`,
        ...scope,
      });
    }
    // `promote` ends the canary: the plan's last step does it (in every wave's cells).
  }
  return out;
}

/** The batches of a rolling update: the share of replicas on the new version after each. */
export function rollingWeights(
  replicas: number,
  maxSurge = 25,
  maxUnavailable = 0,
): number[] {
  const n = Math.max(1, replicas);
  // Kubernetes rounds surge up and unavailability down; at least one replica per batch.
  const perBatch = Math.max(
    1,
    Math.ceil((n * maxSurge) / 100) + Math.floor((n * maxUnavailable) / 100),
  );
  const weights: number[] = [];
  for (let done = perBatch; ; done += perBatch) {
    if (done >= n) {
      weights.push(100);
      return weights;
    }
    weights.push(Math.round((done / n) * 100));
  }
}

/** The plan of a rollout. */
export function planDeployment(input: PlanInput): DeploymentPlan {
  const { rollout, toVersion } = input;
  const waves = rollout.waves ?? [];
  const cells = waves.length > 0 ? waves.flatMap(w => w.cells) : [input.cell];
  const steps: PlanStep[] = [];
  const analysisFor = () =>
    resolveAnalysis(rollout.analysis, undefined, input.limits);

  switch (rollout.strategy) {
    case 'canary': {
      steps.push({
        kind: 'start',
        description: `start ${toVersion} beside ${input.fromVersion}, no traffic`,
      });
      const strategySteps = rollout.steps ?? defaultCanarySteps;
      if (waves.length === 0) {
        steps.push(...canarySteps(input, strategySteps, {}));
      } else {
        waves.forEach((wave, i) => {
          const scope = { wave: i, cells: wave.cells };
          const own = canarySteps(input, strategySteps, scope).map(s =>
            s.kind === 'analysis' && wave.errorBudget !== undefined
              ? {
                  ...s,
                  analysis: { ...s.analysis!, maxErrorRate: wave.errorBudget },
                }
              : s,
          );
          steps.push(...own, {
            kind: 'setWeight',
            weight: 100,
            description: `wave ${i + 1}: all traffic in ${wave.cells.join(
              ', ',
            )} to ${toVersion}`,
            ...scope,
          });
        });
      }
      break;
    }
    case 'blue_green': {
      steps.push({
        kind: 'start',
        description: `start ${toVersion} at full size beside ${input.fromVersion} (preview)`,
      });
      if (rollout.previewAnalysis !== false) {
        steps.push({
          kind: 'analysis',
          description: 'analysis of the preview',
          analysis: analysisFor(),
        });
      }
      steps.push({
        kind: 'switch',
        weight: 100,
        description: `switch all traffic to ${toVersion}`,
      });
      steps.push({
        kind: 'scaleDown',
        durationMs: rolloutDurationMs(rollout.scaleDownDelay ?? '30s'),
        description: `keep ${input.fromVersion} for ${
          rollout.scaleDownDelay ?? '30s'
        } (instant rollback)`,
      });
      break;
    }
    default: {
      // rolling
      steps.push({
        kind: 'start',
        description: `start the rolling update to ${toVersion}`,
      });
      const weights = rollingWeights(
        input.replicas,
        rollout.maxSurge,
        rollout.maxUnavailable,
      );
      weights.forEach((weight, i) => {
        steps.push({
          kind: 'batch',
          weight,
          description: `batch ${i + 1} of ${
            weights.length
          }: ${weight}% of replicas on ${toVersion}`,
        });
        if (rollout.analysis && weight < 100) {
          steps.push({
            kind: 'analysis',
            description: `health of batch ${i + 1}`,
            analysis: analysisFor(),
          });
        }
      });
      break;
    }
  }
  steps.push({
    kind: 'promote',
    weight: 100,
    description: `${toVersion} becomes the stable version`,
  });
  return {
    strategy: rollout.strategy,
    fromVersion: input.fromVersion,
    toVersion,
    cells,
    ...(rollout.headerMatch ? { headerMatch: rollout.headerMatch } : {}),
    ...(rollout.trafficRouter ? { trafficRouter: rollout.trafficRouter } : {}),
    ...(rollout.analysis?.provider
      ? { metricsProvider: rollout.analysis.provider }
      : {}),
    steps,
  };
}

/**
 * The canary's weight (overall, and per cell when the plan goes in waves) once the steps
 * before `upTo` have run: what a resumed or compensated deployment routes.
 */
export function weightsAfter(
  plan: DeploymentPlan,
  upTo: number,
): { canary: number; cells?: Record<string, number> } {
  let canary = 0;
  const cells: Record<string, number> = {};
  const waves = plan.steps.some(s => s.wave !== undefined);
  if (waves) for (const cell of plan.cells) cells[cell] = 0;
  for (const step of plan.steps.slice(0, upTo)) {
    if (step.weight === undefined || step.kind === 'promote') continue;
    if (step.cells) for (const cell of step.cells) cells[cell] = step.weight;
    else canary = step.weight;
  }
  return waves ? { canary, cells } : { canary };
}

/**
 * The plan of a gradual migration: the traffic moves from the source placement to the target
 * in `weights`, each analysed, then all of it, analysed too, before the source goes.
 */
export function planMigration(input: {
  from: string;
  to: string;
  cell: string;
  weights: number[];
  analysis?: RolloutSpec['analysis'];
}): DeploymentPlan {
  const plan = planDeployment({
    rollout: {
      strategy: 'canary',
      steps: [
        ...input.weights.flatMap((setWeight): RolloutStep[] => [
          { setWeight },
          { analysis: {} },
        ]),
        { setWeight: 100 },
        { analysis: {} },
      ],
      ...(input.analysis ? { analysis: input.analysis } : {}),
    },
    fromVersion: input.from,
    toVersion: input.to,
    cell: input.cell,
    replicas: 1,
  });
  return {
    ...plan,
    migration: true,
    steps: plan.steps.map(s => {
      if (s.kind === 'start') {
        return {
          ...s,
          description: `${input.to} up beside ${input.from}, no traffic`,
        };
      }
      if (s.kind === 'promote') {
        return {
          ...s,
          description: `${input.to} serves alone; ${input.from} is gone`,
        };
      }
      return s;
    }),
  };
}

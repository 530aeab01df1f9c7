import {
  Config,
  ConfigReader,
  readDurationFromConfig,
} from '@backstage/config';
import { HumanDuration } from '@backstage/types';
import { Duration } from 'luxon';
import { z } from 'zod';

/**
 * The driver methods the simulator counts and can make fail.
 * @public
 */
export type SimulatorAction =
  | 'plan'
  | 'apply'
  | 'observe'
  | 'delete'
  | 'configureNetworking'
  | 'removeNetworking'
  | 'registerDns'
  | 'deregisterDns'
  | 'runOperation';

/** Every {@link SimulatorAction}. */
export const simulatorActions = [
  'plan',
  'apply',
  'observe',
  'delete',
  'configureNetworking',
  'removeNetworking',
  'registerDns',
  'deregisterDns',
  'runOperation',
] as const satisfies readonly SimulatorAction[];

/** The actions that change something, each recorded once per idempotency token. */
export const sideEffectActions: readonly SimulatorAction[] = [
  'apply',
  'delete',
  'configureNetworking',
  'removeNetworking',
  'registerDns',
  'deregisterDns',
  'runOperation',
];

/**
 * A duration: milliseconds as a number, a string such as `500ms`, `2s`, `1 minute` or
 * ISO-8601 `PT2S`, or an object such as `{ seconds: 2 }`.
 * @public
 */
export type SimulatorDuration = HumanDuration | string | number;

/**
 * A slow step: calls made by the named saga step wait this much longer.
 * @public
 */
export interface SimulatorSlowStep {
  /**
   * The saga step: the part of the idempotency token after the first `:`, e.g. `apply_claim`,
   * or `apply_claim:compensate` for its compensation.
   */
  step: string;
  /** The extra delay. */
  delay: SimulatorDuration;
  /** Only calls to this provider. */
  provider?: string;
  /** Only calls to this cluster. */
  cluster?: string;
  /** Only calls about this resource, e.g. `resource:default/orders-db`. */
  ref?: string;
}

/**
 * A failure at a step: the calls made by the named step (and/or to the named driver method)
 * fail with a non-retryable error, the next `times` times or until lifted. For `observe`,
 * the call does not throw: it reports the phase `failed`, which is how a resource fails to
 * become ready. One naming a step and no method, provider or cluster fails the step before
 * it runs (through the driver's `beforeStep`), whether or not it calls a driver.
 * @public
 */
export interface SimulatorStepFailure {
  /** The saga step, e.g. `register_dns` or `apply_claim:compensate`. */
  step?: string;
  /** The driver method, e.g. `delete`. */
  action?: SimulatorAction;
  /** How many calls fail; every matching call until the fault is lifted when left out. */
  times?: number;
  /** The error message. */
  message?: string;
  /** Only calls to this provider. */
  provider?: string;
  /** Only calls to this cluster. */
  cluster?: string;
  /** Only calls about this resource. */
  ref?: string;
}

/**
 * A version of a resource that misbehaves: the simulated workload serving it fails more
 * requests, answers more slowly, or leaks (its latency grows every minute since the fault was
 * installed). Only its own traffic is affected: the canary, not the stable version.
 * @public
 */
export interface SimulatorMisbehavingVersion {
  /** The resource, e.g. `resource:default/shop`. */
  ref: string;
  /** The version, e.g. `1.4.0`. */
  version: string;
  /** The share (0..1) of its requests that fail with a 500, besides the usual ones. */
  errorRate?: number;
  /** Latency added to each of its requests. */
  latency?: SimulatorDuration;
  /** Latency added per minute since the fault was installed (a slow leak). */
  leakPerMinute?: SimulatorDuration;
}

/**
 * Faults as they are written in `controlPlane.simulator.faults` and sent to
 * `PUT /simulator/faults`.
 * @public
 */
export interface SimulatorFaultsConfig {
  /** Per provider, the probability (0..1) that a call fails with a retryable error (a 503). */
  errorRate?: Record<string, number>;
  /**
   * Per provider, the probability (0..1) that a side effect is applied but its answer is
   * lost: the call fails with a retryable timeout, and its retry must not apply it again.
   */
  lostResponseRate?: Record<string, number>;
  /** Outages: every call to these providers or clusters fails (retryably) until lifted. */
  outages?: { providers?: string[]; clusters?: string[] };
  /** Extra delay for the calls of named steps. */
  slowSteps?: SimulatorSlowStep[];
  /** Non-retryable failures of named steps or driver methods. */
  stepFailures?: SimulatorStepFailure[];
  /** Versions of resources whose simulated workloads misbehave. */
  misbehavingVersions?: SimulatorMisbehavingVersion[];
}

/**
 * The kinds of fault.
 * @public
 */
export type SimulatorFaultKind =
  | 'error-rate'
  | 'lost-response'
  | 'provider-outage'
  | 'cluster-outage'
  | 'slow-step'
  | 'step-failure'
  | 'misbehaving-version';

/**
 * One fault to add, as sent to `POST /simulator/faults`.
 * @public
 */
export type SimulatorFaultInput =
  | { kind: 'error-rate'; provider: string; rate: number; message?: string }
  | { kind: 'lost-response'; provider: string; rate: number }
  | { kind: 'provider-outage'; provider: string; message?: string }
  | { kind: 'cluster-outage'; cluster: string; message?: string }
  | ({ kind: 'slow-step' } & SimulatorSlowStep)
  | ({ kind: 'step-failure' } & SimulatorStepFailure)
  | ({ kind: 'misbehaving-version' } & SimulatorMisbehavingVersion);

/**
 * A fault in force.
 * @public
 */
export interface SimulatorFault {
  /** Its id, to lift it by. */
  id: string;
  /** What it does. */
  kind: SimulatorFaultKind;
  /** Installed from config at start, or through the admin API. */
  source: 'config' | 'api';
  /** The provider it affects (all when absent, for the kinds that filter). */
  provider?: string;
  /** The cluster it affects. */
  cluster?: string;
  /** The saga step it affects. */
  step?: string;
  /** The driver method it affects. */
  action?: SimulatorAction;
  /** The resource it affects. */
  ref?: string;
  /** The probability of `error-rate` and `lost-response`. */
  rate?: number;
  /** The extra delay of `slow-step`. */
  delayMs?: number;
  /** How many more calls a `step-failure` fails; absent when it fails until lifted. */
  remaining?: number;
  /** The error message it gives. */
  message?: string;
  /** The version a `misbehaving-version` fault affects (with `ref`). */
  version?: string;
  /** The latency a `misbehaving-version` fault adds per minute since `createdAt`. */
  leakMsPerMinute?: number;
  /** When it was installed. */
  createdAt: string;
}

/** A fault to store: {@link SimulatorFault} without its identity. */
export type FaultSpec = Omit<SimulatorFault, 'id' | 'source' | 'createdAt'>;

// ── schemas ────────────────────────────────────────────────────────────────────────────

/** Milliseconds of a duration in any accepted form; throws when it is not one. */
export function durationToMillis(value: SimulatorDuration): number {
  if (typeof value === 'number') return value;
  const human = readDurationFromConfig(new ConfigReader({ value }), {
    key: 'value',
  });
  return Duration.fromObject(human).toMillis();
}

const humanDurationSchema = z
  .object({
    years: z.number(),
    months: z.number(),
    weeks: z.number(),
    days: z.number(),
    hours: z.number(),
    minutes: z.number(),
    seconds: z.number(),
    milliseconds: z.number(),
  })
  .partial()
  .strict();

const durationSchema = z
  .union([z.number().nonnegative(), z.string().min(1), humanDurationSchema])
  .transform((value, ctx) => {
    try {
      const ms = durationToMillis(value);
      if (!Number.isFinite(ms) || ms < 0) throw new Error('negative');
      return ms;
    } catch {
      ctx.addIssue({
        code: 'custom',
        message:
          'not a duration: use milliseconds, a string such as "500ms" or "PT2S", or an object such as { seconds: 2 }',
      });
      return z.NEVER;
    }
  });

const nameSchema = z.string().min(1).max(255);
const probabilitySchema = z.number().min(0).max(1);
const actionSchema = z.enum(simulatorActions);
const messageSchema = z.string().min(1).max(1000);

const filters = {
  provider: nameSchema.optional(),
  cluster: nameSchema.optional(),
  ref: nameSchema.optional(),
};

const slowStepShape = { step: nameSchema, delay: durationSchema, ...filters };

const stepFailureShape = {
  step: nameSchema.optional(),
  action: actionSchema.optional(),
  times: z.number().int().positive().optional(),
  message: messageSchema.optional(),
  ...filters,
};

const misbehavingVersionShape = {
  ref: nameSchema,
  version: nameSchema,
  errorRate: probabilitySchema.optional(),
  latency: durationSchema.optional(),
  leakPerMinute: durationSchema.optional(),
};

const namesStepOrAction = {
  message: 'name the step or the action that fails',
  path: ['step'],
};

const faultsConfigSchema = z
  .object({
    errorRate: z.record(nameSchema, probabilitySchema).optional(),
    lostResponseRate: z.record(nameSchema, probabilitySchema).optional(),
    outages: z
      .object({
        providers: z.array(nameSchema).optional(),
        clusters: z.array(nameSchema).optional(),
      })
      .strict()
      .optional(),
    slowSteps: z.array(z.object(slowStepShape).strict()).optional(),
    stepFailures: z
      .array(
        z
          .object(stepFailureShape)
          .strict()
          .refine(f => f.step || f.action, namesStepOrAction),
      )
      .optional(),
    misbehavingVersions: z
      .array(z.object(misbehavingVersionShape).strict())
      .optional(),
  })
  .strict();

const faultInputSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('error-rate'),
      provider: nameSchema,
      rate: probabilitySchema,
      message: messageSchema.optional(),
    })
    .strict(),
  z
    .object({
      kind: z.literal('lost-response'),
      provider: nameSchema,
      rate: probabilitySchema,
    })
    .strict(),
  z
    .object({
      kind: z.literal('provider-outage'),
      provider: nameSchema,
      message: messageSchema.optional(),
    })
    .strict(),
  z
    .object({
      kind: z.literal('cluster-outage'),
      cluster: nameSchema,
      message: messageSchema.optional(),
    })
    .strict(),
  z.object({ kind: z.literal('slow-step'), ...slowStepShape }).strict(),
  z
    .object({ kind: z.literal('step-failure'), ...stepFailureShape })
    .strict()
    .refine(f => f.step || f.action, namesStepOrAction),
  z
    .object({
      kind: z.literal('misbehaving-version'),
      ...misbehavingVersionShape,
    })
    .strict(),
]);

const settingsSchema = z
  .object({
    enabled: z.boolean().default(true),
    provisioningTime: durationSchema.optional(),
    deprovisioningTime: durationSchema.optional(),
    latency: z.record(nameSchema, durationSchema).optional(),
    faults: faultsConfigSchema.optional(),
    /** How long simulated clusters take to create, upgrade, scale and delete, ms. */
    clusters: z
      .object({
        createMs: z.number().int().nonnegative().optional(),
        upgradeMs: z.number().int().nonnegative().optional(),
        scaleMs: z.number().int().nonnegative().optional(),
        deleteMs: z.number().int().nonnegative().optional(),
      })
      .strict()
      .optional(),
    traffic: z
      .object({
        enabled: z.boolean().optional(),
        interval: durationSchema.optional(),
        requestsPerSecond: z.number().nonnegative().max(10000).optional(),
        headerShare: probabilitySchema.optional(),
        baseErrorRate: probabilitySchema.optional(),
        medianLatency: durationSchema.optional(),
        seed: z.number().int().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

/** `path: message` for each issue, e.g. `faults.errorRate.aws: Too big: expected number to be <=1`. */
export function describeIssues(error: z.ZodError, prefix?: string): string {
  return error.issues
    .map(issue => {
      const path = [prefix, ...issue.path.map(String)]
        .filter(Boolean)
        .join('.');
      return `${path || '(body)'}: ${issue.message}`;
    })
    .join('; ');
}

/** Parses with a schema; throws an Error naming every bad field. */
function parseOrThrow<S extends z.ZodType>(
  schema: S,
  value: unknown,
  prefix?: string,
  ErrorType: new (message: string) => Error = Error,
): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new ErrorType(describeIssues(parsed.error, prefix));
  }
  return parsed.data;
}

// ── settings ───────────────────────────────────────────────────────────────────────────

/** Provider latencies when none are configured. */
export const defaultLatencyMs: Record<string, number> = {
  aws: 5,
  gcp: 8,
  azure: 10,
  oci: 12,
  default: 5,
};

/** What the simulator runs with, every duration in milliseconds. */
export interface SimulatorSettings {
  enabled: boolean;
  provisioningMs: number;
  deprovisioningMs: number;
  /** Per provider; `default` for the others. */
  latencyMs: Record<string, number>;
  /** The faults of config, installed at start; absent when not given. */
  faults?: FaultSpec[];
  /** The simulated traffic to routed resources. */
  traffic: SimulatorTrafficSettings;
}

/**
 * The simulated traffic (`controlPlane.simulator.traffic`), durations in milliseconds.
 * @public
 */
export interface SimulatorTrafficSettings {
  enabled: boolean;
  intervalMs: number;
  requestsPerSecond: number;
  headerShare: number;
  baseErrorRate: number;
  medianLatencyMs: number;
  seed: number;
}

/**
 * Settings as code passes them ({@link SimulatedDriverOptions}) or config holds them
 * (`controlPlane.simulator`).
 */
export interface SimulatorSettingsInput {
  enabled?: boolean;
  provisioningTime?: SimulatorDuration;
  deprovisioningTime?: SimulatorDuration;
  latency?: Record<string, SimulatorDuration>;
  faults?: SimulatorFaultsConfig;
  traffic?: {
    enabled?: boolean;
    interval?: SimulatorDuration;
    requestsPerSecond?: number;
    headerShare?: number;
    baseErrorRate?: number;
    medianLatency?: SimulatorDuration;
    seed?: number;
  };
}

/** Validates settings and applies the defaults. */
export function resolveSettings(
  input: SimulatorSettingsInput,
  prefix?: string,
): SimulatorSettings {
  const parsed = parseOrThrow(settingsSchema, input, prefix);
  return {
    enabled: parsed.enabled,
    provisioningMs: parsed.provisioningTime ?? 500,
    deprovisioningMs: parsed.deprovisioningTime ?? 250,
    latencyMs: parsed.latency ?? defaultLatencyMs,
    traffic: {
      enabled: parsed.traffic?.enabled ?? true,
      intervalMs: parsed.traffic?.interval ?? 1000,
      requestsPerSecond: parsed.traffic?.requestsPerSecond ?? 50,
      headerShare: parsed.traffic?.headerShare ?? 0.02,
      baseErrorRate: parsed.traffic?.baseErrorRate ?? 0.002,
      medianLatencyMs: parsed.traffic?.medianLatency ?? 60,
      seed: parsed.traffic?.seed ?? 1,
    },
    ...(parsed.faults ? { faults: faultsFromParsedConfig(parsed.faults) } : {}),
  };
}

/** Reads `controlPlane.simulator` (see config.d.ts). */
export function readSimulatorSettings(config: Config): SimulatorSettings {
  const settings = resolveSettings(
    (config.getOptional('controlPlane.simulator') ?? {}) as never,
    'controlPlane.simulator',
  );
  // Config always states the faults it wants, none included.
  return { ...settings, faults: settings.faults ?? [] };
}

function faultsFromParsedConfig(
  config: z.output<typeof faultsConfigSchema>,
): FaultSpec[] {
  const faults: FaultSpec[] = [];
  for (const [provider, rate] of Object.entries(config.errorRate ?? {})) {
    faults.push({ kind: 'error-rate', provider, rate });
  }
  for (const [provider, rate] of Object.entries(
    config.lostResponseRate ?? {},
  )) {
    faults.push({ kind: 'lost-response', provider, rate });
  }
  for (const provider of config.outages?.providers ?? []) {
    faults.push({ kind: 'provider-outage', provider });
  }
  for (const cluster of config.outages?.clusters ?? []) {
    faults.push({ kind: 'cluster-outage', cluster });
  }
  for (const { delay, ...slow } of config.slowSteps ?? []) {
    faults.push({ kind: 'slow-step', ...slow, delayMs: delay });
  }
  for (const { times, ...failure } of config.stepFailures ?? []) {
    faults.push({
      kind: 'step-failure',
      ...failure,
      ...(times !== undefined ? { remaining: times } : {}),
    });
  }
  for (const version of config.misbehavingVersions ?? []) {
    faults.push(misbehavingVersionSpec(version));
  }
  return faults;
}

/** A misbehaving version as the fault store keeps it. */
function misbehavingVersionSpec(
  input: z.output<z.ZodObject<typeof misbehavingVersionShape>>,
): FaultSpec {
  const { errorRate, latency, leakPerMinute, ...rest } = input;
  return {
    kind: 'misbehaving-version',
    ...rest,
    ...(errorRate !== undefined ? { rate: errorRate } : {}),
    ...(latency !== undefined ? { delayMs: latency } : {}),
    ...(leakPerMinute !== undefined ? { leakMsPerMinute: leakPerMinute } : {}),
  };
}

/** Validates a whole set of faults (the config form); throws `ErrorType` naming bad fields. */
export function parseFaultsConfig(
  value: unknown,
  ErrorType?: new (message: string) => Error,
): FaultSpec[] {
  return faultsFromParsedConfig(
    parseOrThrow(faultsConfigSchema, value, undefined, ErrorType),
  );
}

/** Validates one fault; throws `ErrorType` naming bad fields. */
export function parseFaultInput(
  value: unknown,
  ErrorType?: new (message: string) => Error,
): FaultSpec {
  const parsed = parseOrThrow(faultInputSchema, value, undefined, ErrorType);
  switch (parsed.kind) {
    case 'slow-step': {
      const { delay, ...rest } = parsed;
      return { ...rest, delayMs: delay };
    }
    case 'step-failure': {
      const { times, ...rest } = parsed;
      return { ...rest, ...(times !== undefined ? { remaining: times } : {}) };
    }
    case 'misbehaving-version': {
      const { kind: _kind, ...rest } = parsed;
      return misbehavingVersionSpec(rest);
    }
    default:
      return parsed;
  }
}

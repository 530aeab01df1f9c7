import {
  coreServices,
  createServiceFactory,
  LoggerService,
  RootLoggerService,
} from '@backstage/backend-plugin-api';
import { TestDatabases } from '@backstage/backend-test-utils';
import simulatorModule from '@idp-multicloud/plugin-control-plane-backend-module-simulator';
import {
  context,
  metrics,
  propagation,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  DataPoint,
  DataPointType,
  Histogram,
  MeterProvider,
  MetricData,
  MetricReader,
} from '@opentelemetry/sdk-metrics';
import {
  InMemorySpanExporter,
  ReadableSpan,
  SimpleSpanProcessor,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import {
  authAs,
  startControlPlane,
  until,
  users,
} from '../__testUtils__/backend';
import { filters } from '../scheduling/pipeline';

const databases = TestDatabases.create();
jest.setTimeout(60_000);

/** Collects on demand: what a Prometheus scrape would read. */
class CollectingReader extends MetricReader {
  protected async onShutdown() {}
  protected async onForceFlush() {}
}

type LogRecord = { level: string; message: string } & Record<string, unknown>;

/** A root logger keeping every line with the fields of its child loggers. */
class RecordingLogger implements RootLoggerService {
  constructor(
    readonly records: LogRecord[],
    private readonly fields: Record<string, unknown> = {},
  ) {}
  child(meta: Record<string, unknown>): LoggerService {
    return new RecordingLogger(this.records, { ...this.fields, ...meta });
  }
  private write(level: string, message: string, meta?: unknown) {
    this.records.push({
      ...this.fields,
      ...(meta instanceof Error ? { error: meta.message } : (meta as object)),
      level,
      message,
    });
  }
  error(message: string, meta?: Error | object) {
    this.write('error', message, meta);
  }
  warn(message: string, meta?: Error | object) {
    this.write('warn', message, meta);
  }
  info(message: string, meta?: Error | object) {
    this.write('info', message, meta);
  }
  debug(message: string, meta?: Error | object) {
    this.write('debug', message, meta);
  }
}

const CREATE_STEPS = [
  'validate',
  'schedule',
  'apply_claim',
  'wait_ready',
  'configure_networking',
  'register_dns',
  'notify',
];

const spanIdOf = (s: ReadableSpan) => s.spanContext().spanId;

describe.each(databases.eachSupportedId())(
  'traces, metrics and logs of a provisioning run on %s',
  databaseId => {
    const spans = new InMemorySpanExporter();
    const reader = new CollectingReader();
    const logs: LogRecord[] = [];
    let cp: Awaited<ReturnType<typeof startControlPlane>>;
    const as = authAs(users.ana);
    const get = (path: string) =>
      request(cp.server)
        .get(`/api/control-plane${path}`)
        .set('authorization', as);
    const post = (path: string, body: object) =>
      request(cp.server)
        .post(`/api/control-plane${path}`)
        .set('authorization', as)
        .send(body);

    // The caller's trace, continued by the API request (W3C traceparent).
    const traceId = randomBytes(16).toString('hex');
    const callerSpanId = randomBytes(8).toString('hex');
    let createResponse: request.Response;
    let operation: any;
    let placement: { provider: string; cluster: string; cell: string };

    beforeAll(async () => {
      // What an instrumentation file does in a real backend, with in-memory exporters.
      context.setGlobalContextManager(
        new AsyncLocalStorageContextManager().enable(),
      );
      propagation.setGlobalPropagator(new W3CTraceContextPropagator());
      trace.setGlobalTracerProvider(
        new TracerProvider({
          spanProcessors: [new SimpleSpanProcessor({ exporter: spans })],
        }),
      );
      metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));

      cp = await startControlPlane(databases, databaseId, {
        orchestration: true,
        features: [
          simulatorModule,
          createServiceFactory({
            service: coreServices.rootLogger,
            deps: {},
            factory: () => new RecordingLogger(logs),
          }),
        ],
        controlPlane: {
          simulator: {
            provisioningTime: { milliseconds: 30 },
            deprovisioningTime: { milliseconds: 20 },
            latency: { default: 0 },
          },
        },
      });

      createResponse = await post('/resources', {
        name: 'orders-db',
        product: 'mysql',
        owner: 'group:default/payments',
        tier: 'medium',
        cell: 'cell-us',
        driftPolicy: 'warn',
      })
        .set('traceparent', `00-${traceId}-${callerSpanId}-01`)
        .expect(201);
      const resource = await until(async () => {
        const r = (await get('/resources/default/orders-db')).body;
        return r.status?.state === 'READY' && r;
      }, 'orders-db READY');
      placement = resource.status.placement;
      const ops = (await get('/resources/default/orders-db/operations')).body
        .items;
      operation = (await get(`/operations/${ops[0].id}`)).body;
    });

    afterAll(async () => {
      await cp?.cleanup();
      trace.disable();
      metrics.disable();
      propagation.disable();
      context.disable();
    });

    it('stores the caller’s trace id on the operation; the trace has the request, one span per saga step and one per scheduling stage', async () => {
      expect(operation).toMatchObject({ type: 'create', state: 'succeeded' });
      expect(operation.traceId).toBe(traceId);

      const inTrace = spans
        .getFinishedSpans()
        .filter(s => s.spanContext().traceId === traceId);
      const named = (name: string) => inTrace.filter(s => s.name === name);

      const [requestSpan] = named('control-plane POST /resources');
      expect(requestSpan.parentSpanContext?.spanId).toBe(callerSpanId);
      expect(requestSpan.attributes).toMatchObject({
        'http.route': '/resources',
        'http.response.status_code': 201,
        'idp.request.id': createResponse.headers['x-request-id'],
        'enduser.id': users.ana,
      });

      const [accepted] = named('control-plane operation create');
      expect(accepted.parentSpanContext?.spanId).toBe(spanIdOf(requestSpan));
      expect(accepted.attributes).toMatchObject({
        'idp.operation.id': operation.id,
        'idp.resource.ref': 'resource:default/orders-db',
      });

      const steps = inTrace.filter(s => s.name.startsWith('saga step '));
      expect(steps.map(s => s.attributes['idp.saga.step'])).toEqual(
        CREATE_STEPS,
      );
      for (const step of steps) {
        expect(step.parentSpanContext?.spanId).toBe(spanIdOf(accepted));
        expect(step.attributes).toMatchObject({
          'idp.operation.id': operation.id,
          'idp.operation.type': 'create',
          'idp.resource.ref': 'resource:default/orders-db',
          'idp.saga.attempt': 1,
          'idp.saga.phase': 'run',
          'idp.outcome': 'succeeded',
          'idp.tier': 'medium',
          'idp.cell': 'cell-us',
        });
      }
      // From the schedule step on, the steps name where the resource went.
      for (const step of steps.slice(1)) {
        expect(step.attributes).toMatchObject({
          'idp.provider': placement.provider,
          'idp.cluster': placement.cluster,
        });
      }

      const schedule = steps[1];
      const stages = inTrace.filter(s => s.name.startsWith('scheduling '));
      expect(stages.map(s => s.name)).toEqual([
        'scheduling filter',
        'scheduling score',
        'scheduling select',
      ]);
      for (const stage of stages) {
        expect(stage.parentSpanContext?.spanId).toBe(spanIdOf(schedule));
      }
      expect(schedule.attributes['idp.scheduling.candidates']).toBeGreaterThan(
        0,
      );
    });

    it('logs each step and the end of the operation with its operation id, trace id and step', () => {
      for (const step of CREATE_STEPS) {
        expect(logs).toContainEqual(
          expect.objectContaining({
            operationId: operation.id,
            traceId,
            step,
            message: 'done',
          }),
        );
      }
      expect(logs).toContainEqual(
        expect.objectContaining({
          level: 'info',
          operationId: operation.id,
          traceId,
          outcome: 'succeeded',
          resourceRef: 'resource:default/orders-db',
        }),
      );
      expect(logs).toContainEqual(
        expect.objectContaining({
          level: 'info',
          requestId: createResponse.headers['x-request-id'],
          traceId,
          action: 'resource.create',
          status: 201,
        }),
      );
    });

    it('serves each metric of the issue with real values', async () => {
      // Drift, reported (policy warn), then an outage of the resource's provider that the
      // drift checks run into until its breaker opens.
      await post('/simulator/drift', {
        ref: 'resource:default/orders-db',
        params: { size: 'small' },
      }).expect(200);
      await post('/reconciler/run', { drift: true }).expect(200);
      await post('/simulator/faults', {
        kind: 'provider-outage',
        provider: placement.provider,
      }).expect(201);
      await until(async () => {
        await post('/reconciler/run', { drift: true }).expect(200);
        const providers = (await get('/providers').expect(200)).body.items;
        return providers.some(
          (p: any) =>
            p.id === placement.provider && p.health.breaker === 'open',
        );
      }, `the breaker of ${placement.provider} to open`);

      const { resourceMetrics, errors } = await reader.collect();
      expect(errors).toEqual([]);
      const all = new Map<string, MetricData>(
        resourceMetrics.scopeMetrics
          .flatMap(s => s.metrics)
          .map(m => [m.descriptor.name, m]),
      );
      const points = (name: string) =>
        (all.get(name)?.dataPoints ?? []) as DataPoint<any>[];
      const value = (name: string, labels: Record<string, string>) =>
        points(name).find(p =>
          Object.entries(labels).every(([k, v]) => p.attributes[k] === v),
        )?.value;

      expect(
        value('idp_placements_total', {
          provider: placement.provider,
          cell: 'cell-us',
          tier: 'medium',
        }),
      ).toBe(1);

      const gates = points('idp_gate_rejections_total');
      expect(gates.length).toBeGreaterThan(0);
      for (const p of gates) {
        expect(Object.keys(filters)).toContain(p.attributes.gate);
        expect(p.value).toBeGreaterThan(0);
      }

      expect(all.get('idp_scheduling_duration_seconds')?.dataPointType).toBe(
        DataPointType.HISTOGRAM,
      );
      const decision = value('idp_scheduling_duration_seconds', {
        tier: 'medium',
        outcome: 'placed',
      }) as Histogram;
      expect(decision.count).toBe(1);
      expect(decision.sum).toBeGreaterThan(0);

      for (const step of CREATE_STEPS) {
        const h = value('idp_saga_step_duration_seconds', {
          step,
          operation_type: 'create',
          outcome: 'succeeded',
          phase: 'run',
        }) as Histogram;
        expect([step, h?.count]).toEqual([step, 1]);
        expect(h.sum).toBeGreaterThan(0);
      }

      expect(
        value('idp_operations_total', { type: 'create', outcome: 'succeeded' }),
      ).toBe(1);
      expect(
        value('idp_drift_detected_total', {
          cell: 'cell-us',
          product: 'mysql',
        }),
      ).toBe(1);

      // 2 = open for the provider in outage; the rest of the fleet is closed (0).
      const breakers = Object.fromEntries(
        points('idp_circuit_breaker_state').map(p => [
          p.attributes.provider,
          p.value,
        ]),
      );
      const fleet = (await get('/providers').expect(200)).body.items.map(
        (p: { id: string }) => p.id,
      );
      expect(fleet.length).toBeGreaterThan(1);
      expect(breakers).toEqual(
        Object.fromEntries(
          fleet.map((id: string) => [id, id === placement.provider ? 2 : 0]),
        ),
      );
    });

    it('traces a failed step and the compensations after it, and counts the compensated operation', async () => {
      await post('/simulator/faults', {
        kind: 'step-failure',
        step: 'register_dns',
        times: 1,
      }).expect(201);
      await post('/resources', {
        name: 'sessions',
        product: 'redis',
        owner: 'group:default/payments',
        tier: 'low',
        cell: 'cell-us',
      }).expect(201);
      const failed = await until(async () => {
        const ops = (await get('/resources/default/sessions/operations')).body
          .items;
        return ops[0]?.state === 'compensated' && ops[0];
      }, 'sessions to be compensated');
      const op = (await get(`/operations/${failed.id}`)).body;
      const ofOp = spans
        .getFinishedSpans()
        .filter(s => s.spanContext().traceId === op.traceId);

      const [dns] = ofOp.filter(s => s.name === 'saga step register_dns');
      expect(dns.attributes).toMatchObject({
        'idp.outcome': 'failed',
        'idp.error.retryable': false,
      });
      expect(dns.status.code).toBe(SpanStatusCode.ERROR);
      // Each step that ran is undone, newest first, each in a span of the operation's trace.
      const undone = ofOp
        .filter(s => s.name.startsWith('saga compensate '))
        .map(s => [s.attributes['idp.saga.step'], s.attributes['idp.outcome']]);
      expect(undone.map(([step]) => step)).toEqual(
        expect.arrayContaining(['apply_claim', 'configure_networking']),
      );
      expect(undone.every(([, outcome]) => outcome === 'succeeded')).toBe(true);

      const { resourceMetrics } = await reader.collect();
      const points = resourceMetrics.scopeMetrics
        .flatMap(m => m.metrics)
        .filter(m =>
          ['idp_operations_total', 'idp_saga_step_duration_seconds'].includes(
            m.descriptor.name,
          ),
        )
        .flatMap(m => m.dataPoints as DataPoint<any>[]);
      expect(points).toContainEqual(
        expect.objectContaining({
          attributes: { type: 'create', outcome: 'compensated' },
          value: 1,
        }),
      );
      expect(points).toContainEqual(
        expect.objectContaining({
          attributes: {
            step: 'register_dns',
            operation_type: 'create',
            outcome: 'failed',
            phase: 'run',
          },
          value: expect.objectContaining({ count: 1 }),
        }),
      );
      expect(points).toContainEqual(
        expect.objectContaining({
          attributes: {
            step: 'apply_claim',
            operation_type: 'create',
            outcome: 'succeeded',
            phase: 'compensate',
          },
          value: expect.objectContaining({ count: 1 }),
        }),
      );
      expect(logs).toContainEqual(
        expect.objectContaining({
          level: 'warn',
          operationId: op.id,
          traceId: op.traceId,
          step: 'register_dns',
          retryable: false,
        }),
      );
    });
  },
);

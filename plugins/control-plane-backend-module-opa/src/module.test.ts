import { createBackendPlugin } from '@backstage/backend-plugin-api';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { JsonObject } from '@backstage/types';
import {
  PolicyEvaluator,
  controlPlanePolicyEvaluatorsExtensionPoint,
} from '@idp-multicloud/plugin-control-plane-node';
import { examplePolicy, exampleInput } from './__testUtils__/examples';
import { FakeOpa } from './__testUtils__/fakeOpa';
import { controlPlaneModuleOpa } from './module';
import { OpaPolicyEvaluator } from './OpaPolicyEvaluator';

/** Stands in for the control plane plugin: collects the policy evaluators modules add. */
function evaluatorCollector(evaluators: PolicyEvaluator[]) {
  return createBackendPlugin({
    pluginId: 'control-plane',
    register(env) {
      env.registerExtensionPoint(controlPlanePolicyEvaluatorsExtensionPoint, {
        addPolicyEvaluator: (...added) => evaluators.push(...added),
      });
      env.registerInit({ deps: {}, async init() {} });
    },
  });
}

describe('controlPlaneModuleOpa', () => {
  let opa: FakeOpa;
  beforeEach(async () => {
    opa = await FakeOpa.start({
      token: 'module-token',
      policies: { 'acme/guardrails': examplePolicy },
    });
  });
  afterEach(() => opa.stop());

  async function start(data: JsonObject) {
    const evaluators: PolicyEvaluator[] = [];
    const logger = mockServices.logger.mock();
    const backend = await startTestBackend({
      features: [
        evaluatorCollector(evaluators),
        controlPlaneModuleOpa,
        mockServices.rootConfig.factory({ data }),
        logger.factory,
      ],
    });
    return { backend, evaluators, logger };
  }

  it('adds the opa evaluator, asking the configured OPA with the configured token, package, timeout and failure mode', async () => {
    const { backend, evaluators, logger } = await start({
      controlPlane: {
        opa: {
          baseUrl: opa.url,
          policyPath: 'acme/guardrails',
          token: 'module-token',
          timeout: '1s',
          failureMode: 'open',
        },
      },
    });
    try {
      expect(evaluators.map(e => e.id)).toEqual(['opa']);
      const [evaluator] = evaluators;
      expect(evaluator).toBeInstanceOf(OpaPolicyEvaluator);
      expect(logger.info).toHaveBeenCalledWith(
        `Requests are also decided by the OPA policy acme/guardrails at ${opa.url} (failure mode open, timeout 1000 ms)`,
      );

      const bucket = exampleInput({
        resource: { product: 'object-bucket', params: { publicRead: true } },
      });
      await expect(evaluator.evaluate(bucket)).resolves.toMatchObject({
        allowed: false,
        violations: [{ code: 'bucket.publicRead', status: 422 }],
      });
      expect(opa.requests).toEqual([
        expect.objectContaining({
          path: '/v1/data/acme/guardrails',
          authorization: 'Bearer module-token',
          body: { input: bucket },
        }),
      ]);

      opa.delay(5000);
      await expect(evaluator.evaluate(exampleInput())).resolves.toEqual({
        allowed: true,
        violations: [],
        reasons: [expect.stringContaining('did not answer within 1000 ms')],
      });
    } finally {
      await backend.stop();
    }
  });

  it('defaults to package idp/controlplane, a 2 s timeout and failure mode closed', async () => {
    const { backend, evaluators } = await start({
      controlPlane: { opa: { baseUrl: opa.url, token: 'module-token' } },
    });
    try {
      const evaluator = evaluators[0] as OpaPolicyEvaluator;
      expect(evaluator.url).toBe(`${opa.url}/v1/data/idp/controlplane`);
      expect(evaluator.timeoutMs).toBe(2000);
      // The fake has no idp/controlplane package: an undefined document is refused.
      await expect(evaluator.evaluate(exampleInput())).resolves.toMatchObject({
        allowed: false,
        violations: [{ code: 'opa.notAllowed' }],
      });
      // Unreachable, and failure mode closed: refused.
      await opa.stop();
      await expect(evaluator.evaluate(exampleInput())).resolves.toMatchObject({
        allowed: false,
        violations: [{ code: 'opa.unavailable' }],
      });
    } finally {
      await backend.stop();
    }
  });

  it.each([
    { name: 'no controlPlane.opa', data: {} },
    {
      name: 'controlPlane.opa without baseUrl',
      data: { controlPlane: { opa: { token: 'module-token' } } },
    },
  ])(
    'adds nothing, and says OPA is not configured, with $name',
    async ({ data }) => {
      const { backend, evaluators, logger } = await start(data);
      try {
        expect(evaluators).toEqual([]);
        expect(logger.info).toHaveBeenCalledWith(
          'OPA is not configured (controlPlane.opa.baseUrl is not set): no OPA policy evaluator is added',
        );
      } finally {
        await backend.stop();
      }
    },
  );

  it.each([
    {
      opa: { failureMode: 'half-open' },
      error:
        "controlPlane.opa.failureMode must be one of closed, open, got 'half-open'",
    },
    {
      opa: { policyPath: 'idp.controlplane' },
      error:
        "controlPlane.opa.policyPath must be a slash-separated package path such as 'idp/controlplane', got 'idp.controlplane'",
    },
    {
      opa: { timeout: 'soon' },
      error: "Invalid duration 'soon' in config at 'timeout'",
    },
  ])('refuses to start with an invalid $opa', async ({ opa: keys, error }) => {
    await expect(
      start({ controlPlane: { opa: { baseUrl: opa.url, ...keys } } }),
    ).rejects.toThrow(error);
  });
});

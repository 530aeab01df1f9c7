import { mockServices } from '@backstage/backend-test-utils';
import { PolicyInput } from '@idp-multicloud/plugin-control-plane-node';
import {
  examplePolicy,
  exampleInput,
  exampleOperationInput,
} from './__testUtils__/examples';
import { FakeOpa } from './__testUtils__/fakeOpa';
import {
  OpaPolicyEvaluator,
  OpaPolicyEvaluatorOptions,
} from './OpaPolicyEvaluator';

describe('OpaPolicyEvaluator', () => {
  let opa: FakeOpa;
  let logger: ReturnType<typeof mockServices.logger.mock>;

  beforeEach(async () => {
    opa = await FakeOpa.start({
      policies: { 'idp/controlplane': examplePolicy },
    });
    logger = mockServices.logger.mock();
  });
  afterEach(() => opa.stop());

  const evaluator = (options: Partial<OpaPolicyEvaluatorOptions> = {}) =>
    new OpaPolicyEvaluator({ baseUrl: opa.url, logger, ...options });

  /** Everything the logger was given, as text, to look for the token in. */
  const everythingLogged = () =>
    JSON.stringify(
      [logger.error, logger.warn, logger.info, logger.debug].flatMap(
        fn => fn.mock.calls,
      ),
    );

  it('posts the input document, exactly as given, to the Data API of the policy package', async () => {
    const input = exampleInput();
    await evaluator().evaluate(input);

    expect(opa.requests).toEqual([
      {
        method: 'POST',
        path: '/v1/data/idp/controlplane',
        contentType: 'application/json',
        authorization: undefined,
        body: { input: exampleInput() },
      },
    ]);
  });

  it('asks the configured package, given with or without slashes around it', async () => {
    opa.setPolicy('acme/guardrails', () => ({ allow: true }));
    const decision = await evaluator({
      policyPath: '/acme/guardrails/',
    }).evaluate(exampleInput());

    expect(opa.requests.map(r => r.path)).toEqual(['/v1/data/acme/guardrails']);
    expect(decision).toMatchObject({
      allowed: true,
      reasons: [
        'allowed by the OPA policy acme/guardrails',
        expect.stringMatching(/^OPA decision id [0-9a-f-]{36}$/),
      ],
    });
  });

  it('keeps a path prefix of the base URL, for OPA behind a gateway', () => {
    expect(evaluator({ baseUrl: 'https://gateway.example.com/opa/' }).url).toBe(
      'https://gateway.example.com/opa/v1/data/idp/controlplane',
    );
  });

  describe('with the README example policy', () => {
    const critical = (owner: string, dataResidency?: string) =>
      exampleInput({
        resource: { tier: 'critical', owner },
        tier: { id: 'critical' },
        cell: dataResidency
          ? { id: 'cell-eu', geo: 'eu', dataResidency }
          : { id: 'cell-us', geo: 'us' },
      });
    const bucket = (publicRead: boolean) =>
      exampleInput({
        resource: {
          product: 'object-bucket',
          params: { sizeGi: 100, publicRead },
        },
        product: { id: 'object-bucket', category: 'storage' },
      });
    // The request adds `monthlyCost` to the team's quota (negative: it frees some).
    const adding = (action: string, monthlyCost: number) => {
      const [quota] = exampleInput().quotas;
      return exampleInput({
        action,
        quotas: [{ ...quota, request: { ...quota.request, monthlyCost } }],
      });
    };
    const labelled = (
      labels: Record<string, string>,
      base: PolicyInput = exampleInput(),
    ) => ({ ...base, resource: { ...base.resource, labels } });

    const residency = {
      code: 'tier.critical.dataResidency',
      message:
        'tier critical needs a cell with data residency; cell-us has none',
      field: 'cell',
    };
    const publicBucket = {
      code: 'bucket.publicRead',
      message: 'object buckets may not be publicly readable',
      field: 'params.publicRead',
      status: 422,
    };
    const quota = {
      code: 'quota.maxMonthlyCost',
      message:
        'resource:payments/orders-db would add 1500 USD a month, taking group:default/payments to 5400 USD of the 5000 USD of quota team-payments',
      field: 'params',
    };

    it.each<{ name: string; input: PolicyInput; violations: object[] }>([
      { name: 'a mysql, tier high', input: exampleInput(), violations: [] },
      {
        name: 'tier critical in a cell without data residency',
        input: critical('group:default/payments'),
        violations: [residency],
      },
      {
        name: 'tier critical without data residency, for the platform team',
        input: critical('group:default/platform'),
        violations: [],
      },
      {
        name: 'tier critical without data residency, for the platform team (short ref)',
        input: critical('group:platform'),
        violations: [],
      },
      {
        name: 'tier critical in a cell with data residency',
        input: critical('group:default/payments', 'EU'),
        violations: [],
      },
      {
        name: 'a publicly readable bucket',
        input: bucket(true),
        violations: [publicBucket],
      },
      { name: 'a private bucket', input: bucket(false), violations: [] },
      {
        name: 'a resource that takes the team over its monthly cost',
        input: adding('resource.create', 1500),
        violations: [quota],
      },
      {
        name: 'an update that makes it cheaper, while over the monthly cost',
        input: adding('resource.update', -100),
        violations: [],
      },
      {
        name: 'deleting while over the monthly cost',
        input: adding('resource.delete', -420),
        violations: [],
      },
      {
        name: 'deleting a protected resource',
        input: labelled(
          { protected: 'true' },
          exampleInput({ action: 'resource.delete' }),
        ),
        violations: [
          {
            code: 'resource.protected',
            message:
              'resource:payments/orders-db is protected: remove its label protected before deleting it',
            field: 'labels.protected',
          },
        ],
      },
      {
        name: 'updating a protected resource',
        input: labelled(
          { protected: 'true' },
          exampleInput({ action: 'resource.update' }),
        ),
        violations: [],
      },
      {
        name: 'an operation in a change freeze',
        input: labelled({ freeze: 'true' }, exampleOperationInput()),
        violations: [
          {
            code: 'resource.frozen',
            message:
              'resource:payments/orders-db is in a change freeze: no failover until its label freeze is removed',
            field: 'labels.freeze',
          },
        ],
      },
      {
        name: 'an operation',
        input: exampleOperationInput(),
        violations: [],
      },
      {
        name: 'everything at once',
        input: {
          ...adding('resource.create', 1500),
          resource: {
            ...exampleInput().resource,
            product: 'object-bucket',
            params: { publicRead: true },
            tier: 'critical',
          },
        },
        violations: [residency, publicBucket, quota],
      },
    ])('$name', async ({ input, violations }) => {
      const decision = await evaluator().evaluate(input);
      expect(decision.violations).toEqual(violations);
      expect(decision.allowed).toBe(violations.length === 0);
    });
  });

  it.each([
    {
      name: 'deny strings become opa.deny violations',
      document: { allow: true, deny: ['no friday deploys', 'freeze'] },
      violations: [
        { code: 'opa.deny', message: 'no friday deploys' },
        { code: 'opa.deny', message: 'freeze' },
      ],
    },
    {
      name: 'allow false without a reason is opa.notAllowed',
      document: { allow: false },
      violations: [
        {
          code: 'opa.notAllowed',
          message: 'denied by the OPA policy idp/controlplane',
        },
      ],
    },
    {
      name: 'a package without allow is opa.notAllowed',
      document: {},
      violations: [
        {
          code: 'opa.notAllowed',
          message: 'denied by the OPA policy idp/controlplane',
        },
      ],
    },
  ])('$name', async ({ document, violations }) => {
    opa.setPolicy('idp/controlplane', () => document);
    await expect(evaluator().evaluate(exampleInput())).resolves.toMatchObject({
      allowed: false,
      violations,
    });
  });

  it('refuses when OPA has no such document (an unloaded or misnamed policy), and says so in the log', async () => {
    const decision = await evaluator({ policyPath: 'idp/typo' }).evaluate(
      exampleInput(),
    );

    expect(decision).toMatchObject({
      allowed: false,
      violations: [
        {
          code: 'opa.notAllowed',
          message:
            'denied by the OPA policy idp/typo: OPA has no document at idp/typo (is the policy loaded?)',
        },
      ],
    });
    expect(logger.warn).toHaveBeenCalledWith(
      expect.stringContaining('OPA has no document at idp/typo'),
      expect.objectContaining({ url: `${opa.url}/v1/data/idp/typo` }),
    );
  });

  describe('with token authentication', () => {
    beforeEach(async () => {
      await opa.stop();
      opa = await FakeOpa.start({
        token: 's3cret-token',
        policies: { 'idp/controlplane': examplePolicy },
      });
    });

    it('sends the token as a bearer token', async () => {
      const decision = await evaluator({ token: 's3cret-token' }).evaluate(
        exampleInput(),
      );

      expect(decision.allowed).toBe(true);
      expect(opa.requests[0].authorization).toBe('Bearer s3cret-token');
    });

    it('treats a rejected token as OPA being unavailable, and never logs the token', async () => {
      const decision = await evaluator({ token: 'wrong-token' }).evaluate(
        exampleInput(),
      );

      expect(decision).toEqual({
        allowed: false,
        violations: [
          {
            code: 'opa.unavailable',
            message:
              'OPA could not be asked for a decision of the policy idp/controlplane: it answered HTTP 401 (unauthorized: request rejected by administrative policy). Requests are refused until OPA answers again.',
          },
        ],
      });
      expect(logger.error).toHaveBeenCalledWith(
        expect.stringContaining(`OPA at ${opa.url}/v1/data/idp/controlplane`),
        expect.objectContaining({ status: 401 }),
      );
      expect(everythingLogged()).not.toContain('wrong-token');
    });
  });

  describe.each([
    {
      failureMode: 'closed' as const,
      // refused, with one opa.unavailable violation that says why
      expected: (problem: RegExp) => ({
        allowed: false,
        violations: [
          {
            code: 'opa.unavailable',
            message: expect.stringMatching(
              new RegExp(
                `^OPA could not be asked for a decision of the policy idp/controlplane: .*${problem.source}.*Requests are refused until OPA answers again\\.$`,
              ),
            ),
          },
        ],
      }),
    },
    {
      failureMode: 'open' as const,
      // allowed, with a reason that says OPA could not be asked and why
      expected: (problem: RegExp) => ({
        allowed: true,
        violations: [],
        reasons: [
          expect.stringMatching(
            new RegExp(
              `^allowed without a decision of the OPA policy idp/controlplane: OPA could not be asked \\(.*${problem.source}.*\\) and the OPA failure mode is open$`,
            ),
          ),
        ],
      }),
    },
  ])(
    'when OPA cannot be asked, failure mode $failureMode',
    ({ failureMode, expected }) => {
      it.each<{
        name: string;
        arrange: (opa: FakeOpa) => Promise<void> | void;
        problem: RegExp;
        /** The evaluator's timeout: short only where OPA is meant to be too slow. */
        timeout?: { milliseconds: number };
      }>([
        {
          name: 'too slow',
          arrange: fake => fake.delay(2000),
          timeout: { milliseconds: 100 },
          problem: /it did not answer within 100 ms/,
        },
        {
          name: 'unreachable',
          arrange: fake => fake.stop(),
          problem: /it could not be reached \(ECONNREFUSED\)/,
        },
        {
          name: 'the policy fails to evaluate (500)',
          arrange: fake =>
            fake.setPolicy('idp/controlplane', () => {
              throw new Error(
                'eval_conflict_error: functions must not produce multiple outputs',
              );
            }),
          problem:
            /it answered HTTP 500 \(internal_error: Error: eval_conflict_error/,
        },
        {
          name: 'a gateway in front of it fails (502, text)',
          arrange: fake =>
            fake.answer({ status: 502, body: '<html>Bad Gateway</html>' }),
          problem: /it answered HTTP 502 \(<html>Bad Gateway<\/html>\)/,
        },
        {
          name: 'the answer is not JSON',
          arrange: fake => fake.answer({ status: 200, body: 'OK' }),
          problem: /its answer is not JSON \(OK\)/,
        },
        {
          name: 'the answer is not a decision',
          arrange: fake =>
            fake.setPolicy('idp/controlplane', () => ({ allow: 'yes' })),
          problem:
            /its answer is not a decision of package idp\/controlplane \(result\.allow: .*expected boolean/,
        },
      ])('$name', async ({ arrange, problem, timeout }) => {
        const url = `${opa.url}/v1/data/idp/controlplane`;
        await arrange(opa);
        const decision = await evaluator({ failureMode, timeout }).evaluate(
          exampleInput(),
        );

        expect(decision).toEqual(expected(problem));
        expect(logger.error).toHaveBeenCalledTimes(1);
        expect(logger.error).toHaveBeenCalledWith(
          expect.stringContaining(`OPA at ${url} could not be asked`),
          expect.objectContaining({ url, failureMode }),
        );
      });
    },
  );

  it('answers within its timeout while OPA hangs', async () => {
    opa.delay(5000);
    const started = Date.now();
    await evaluator({ timeout: { milliseconds: 100 } }).evaluate(
      exampleInput(),
    );
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it.each([
    {
      options: { baseUrl: 'localhost:8181' },
      error: "baseUrl must be an http or https URL, got 'localhost:8181'",
    },
    {
      options: { baseUrl: 'opa' },
      error: "baseUrl must be an absolute URL, got 'opa'",
    },
    {
      options: { policyPath: 'idp.controlplane' },
      error:
        /policyPath must be a slash-separated package path .* \(use slashes/,
    },
    {
      options: { failureMode: 'half-open' as any },
      error: "failureMode must be one of closed, open, got 'half-open'",
    },
    {
      options: { timeout: { seconds: 0 } },
      error: 'timeout must be positive, got 0 ms',
    },
  ])('refuses invalid options: $error', ({ options, error }) => {
    expect(() => evaluator(options)).toThrow(error);
  });
});

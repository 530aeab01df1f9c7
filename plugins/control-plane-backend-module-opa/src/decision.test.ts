import { interpretOpaResponse } from './decision';

const path = 'idp/controlplane';
const notAllowed = {
  code: 'opa.notAllowed',
  message: 'denied by the OPA policy idp/controlplane',
};

describe('interpretOpaResponse', () => {
  it.each([
    {
      name: 'allow true',
      body: { result: { allow: true } },
      decision: {
        allowed: true,
        violations: [],
        reasons: ['allowed by the OPA policy idp/controlplane'],
      },
    },
    {
      name: 'allow true, empty deny, other rules ignored',
      body: { result: { allow: true, deny: [], helper: { x: 1 } } },
      decision: {
        allowed: true,
        violations: [],
        reasons: ['allowed by the OPA policy idp/controlplane'],
      },
    },
    {
      name: 'allow false, no deny',
      body: { result: { allow: false, deny: [] } },
      decision: { allowed: false, violations: [notAllowed] },
    },
    {
      name: 'no allow rule at all (empty package document)',
      body: { result: {} },
      decision: { allowed: false, violations: [notAllowed] },
    },
    {
      name: 'allow true but deny strings: deny wins',
      body: { result: { allow: true, deny: ['no public buckets', 'over'] } },
      decision: {
        allowed: false,
        violations: [
          { code: 'opa.deny', message: 'no public buckets' },
          { code: 'opa.deny', message: 'over' },
        ],
      },
    },
    {
      name: 'deny objects with code, field and status; unknown keys dropped',
      body: {
        result: {
          allow: false,
          deny: [
            {
              code: 'bucket.publicRead',
              message: 'no public buckets',
              field: 'params.publicRead',
              status: 422,
              severity: 'high',
            },
            { message: 'no code given' },
            'a plain message',
          ],
        },
      },
      decision: {
        allowed: false,
        violations: [
          {
            code: 'bucket.publicRead',
            message: 'no public buckets',
            field: 'params.publicRead',
            status: 422,
          },
          { code: 'opa.deny', message: 'no code given' },
          { code: 'opa.deny', message: 'a plain message' },
        ],
      },
    },
    {
      name: "OPA's decision id in the reasons",
      body: { result: { allow: true }, decision_id: 'd-1' },
      decision: {
        allowed: true,
        violations: [],
        reasons: [
          'allowed by the OPA policy idp/controlplane',
          'OPA decision id d-1',
        ],
      },
    },
    {
      name: 'decision id kept on a denial too',
      body: { result: { deny: ['no'] }, decision_id: 'd-2' },
      decision: {
        allowed: false,
        violations: [{ code: 'opa.deny', message: 'no' }],
        reasons: ['OPA decision id d-2'],
      },
    },
  ])('$name', ({ body, decision }) => {
    expect(interpretOpaResponse(body, path)).toEqual({
      ok: true,
      undefinedDocument: false,
      decision,
    });
  });

  it('refuses an undefined document (no `result`): the policy is not loaded', () => {
    expect(interpretOpaResponse({ decision_id: 'd-3' }, path)).toEqual({
      ok: true,
      undefinedDocument: true,
      decision: {
        allowed: false,
        violations: [
          {
            code: 'opa.notAllowed',
            message:
              'denied by the OPA policy idp/controlplane: OPA has no document at idp/controlplane (is the policy loaded?)',
          },
        ],
        reasons: ['OPA decision id d-3'],
      },
    });
  });

  it("passes OPA's warning on", () => {
    expect(
      interpretOpaResponse(
        {
          result: { allow: true },
          warning: { code: 'api_usage_warning', message: 'careful' },
        },
        path,
      ),
    ).toMatchObject({ ok: true, warning: 'api_usage_warning: careful' });
  });

  it.each([
    { name: 'a JSON array', body: [], problem: /expected a JSON object/ },
    { name: 'null', body: null, problem: /expected a JSON object/ },
    {
      name: 'a rule value instead of the package (result: true)',
      body: { result: true },
      problem: /result: expected the object of a package/,
    },
    {
      name: 'allow is not a boolean',
      body: { result: { allow: 'yes' } },
      problem: /result\.allow: .*expected boolean/,
    },
    {
      name: 'deny is not an array',
      body: { result: { deny: 'no' } },
      problem: /result\.deny: .*expected array/,
    },
    {
      name: 'a deny object without a message',
      body: { result: { deny: [{ code: 'x' }] } },
      problem:
        /result\.deny\.0: expected a message, or an object \{ code\?, message/,
    },
    {
      name: 'a deny status other than 403 or 422',
      body: { result: { deny: [{ message: 'm', status: 500 }] } },
      problem: /result\.deny\.0: .*status\?: 403 \| 422/,
    },
  ])('is not an answer: $name', ({ body, problem }) => {
    const answer = interpretOpaResponse(body, path);
    expect(answer.ok).toBe(false);
    expect(!answer.ok && answer.problem).toMatch(
      /^its answer is not a decision of package idp\/controlplane \(/,
    );
    expect(!answer.ok && answer.problem).toMatch(problem);
  });
});

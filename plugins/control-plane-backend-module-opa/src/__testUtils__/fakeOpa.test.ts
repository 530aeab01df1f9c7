import { FakeOpa } from './fakeOpa';

/**
 * The fake answers as OPA's Data API documents it
 * (https://www.openpolicyagent.org/docs/latest/rest-api/#get-a-document-with-input), so that
 * the evaluator's tests mean something.
 */
describe('FakeOpa', () => {
  let opa: FakeOpa;
  beforeEach(async () => {
    opa = await FakeOpa.start({
      decisionIds: false,
      policies: {
        'idp/controlplane': input => ({
          allow: input?.ok === true,
          deny: input?.ok ? [] : ['not ok'],
        }),
        'idp/other': () => undefined,
      },
    });
  });
  afterEach(() => opa.stop());

  const post = async (path: string, body: string, to: FakeOpa = opa) => {
    const res = await fetch(`${to.url}${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body,
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = text;
    }
    return { status: res.status, body: json };
  };

  it.each([
    {
      name: "a package's document",
      path: '/v1/data/idp/controlplane',
      body: { input: { ok: true } },
      answer: { result: { allow: true, deny: [] } },
    },
    {
      name: 'a rule inside a package',
      path: '/v1/data/idp/controlplane/deny',
      body: { input: { ok: false } },
      answer: { result: ['not ok'] },
    },
    {
      name: 'the parent of packages',
      path: '/v1/data/idp',
      body: { input: { ok: true } },
      answer: {
        result: { controlplane: { allow: true, deny: [] } },
      },
    },
    {
      name: 'an unknown package: 200 without result',
      path: '/v1/data/acme/policy',
      body: { input: {} },
      answer: {},
    },
    {
      name: 'an undefined rule: 200 without result',
      path: '/v1/data/idp/controlplane/nothing',
      body: { input: {} },
      answer: {},
    },
    {
      name: 'a policy whose document is undefined: 200 without result',
      path: '/v1/data/idp/other',
      body: { input: {} },
      answer: {},
    },
    {
      name: 'no input key: evaluated without input, with a warning',
      path: '/v1/data/idp/controlplane/allow',
      body: {},
      answer: {
        result: false,
        warning: {
          code: 'api_usage_warning',
          message: "'input' key missing from the request",
        },
      },
    },
  ])('answers $name', async ({ path, body, answer }) => {
    await expect(post(path, JSON.stringify(body))).resolves.toEqual({
      status: 200,
      body: answer,
    });
  });

  it('adds a decision id to every answer, as OPA with decision logging', async () => {
    const withIds = await FakeOpa.start({
      policies: { a: () => ({ allow: true }) },
    });
    try {
      const defined = await post('/v1/data/a', '{"input":{}}', withIds);
      const undefinedDocument = await post(
        '/v1/data/b',
        '{"input":{}}',
        withIds,
      );
      expect(defined.body).toEqual({
        result: { allow: true },
        decision_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      });
      expect(undefinedDocument.body).toEqual({
        decision_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      });
    } finally {
      await withIds.stop();
    }
  });

  it('answers 400 invalid_parameter for a body that is not JSON', async () => {
    await expect(post('/v1/data/idp/controlplane', '{oops')).resolves.toEqual({
      status: 400,
      body: {
        code: 'invalid_parameter',
        message: expect.stringContaining('malformed input document'),
      },
    });
  });

  it('answers 401 without the right bearer token, when it has one', async () => {
    const secured = await FakeOpa.start({
      token: 't0ken',
      policies: { a: () => ({ allow: true }) },
    });
    try {
      const unauthorized = {
        status: 401,
        body: {
          code: 'unauthorized',
          message: 'request rejected by administrative policy',
        },
      };
      const call = (headers: Record<string, string>) =>
        fetch(`${secured.url}/v1/data/a`, {
          method: 'POST',
          headers,
          body: '{"input":{}}',
        }).then(async r => ({ status: r.status, body: await r.json() }));
      await expect(call({})).resolves.toEqual(unauthorized);
      await expect(call({ Authorization: 'Bearer nope' })).resolves.toEqual(
        unauthorized,
      );
      await expect(
        call({ Authorization: 'Bearer t0ken' }),
      ).resolves.toMatchObject({
        status: 200,
        body: { result: { allow: true } },
      });
    } finally {
      await secured.stop();
    }
  });

  it("answers 404 for a route OPA does not have, as OPA's router does", async () => {
    const res = await fetch(`${opa.url}/v1/nothing`, { method: 'POST' });
    expect(res.status).toBe(404);
    expect(await res.text()).toBe('404 page not found\n');
  });
});

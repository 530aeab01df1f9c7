import { TestDatabases } from '@backstage/backend-test-utils';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { authAs, startControlPlane, users } from '../__testUtils__/backend';

const databases = TestDatabases.create();
// every route of the API, 25 drawn requests each, on each database
jest.setTimeout(480_000);

type JsonSchema = Record<string, any>;

/** Names a request, a manifest or config can carry that are also JavaScript built-ins. */
const builtinNames = [
  'constructor',
  'prototype',
  '__proto__',
  'toString',
  'tostring',
  'hasOwnProperty',
  'valueOf',
  'isPrototypeOf',
  '__defineGetter__',
];

/** Other hostile strings: traversal, control characters, long and astral ones. */
const hostileStrings = [
  '',
  ' ',
  '../../etc/passwd',
  'a/../../b',
  '%00',
  '\u0000',
  '\n\r',
  '😀'.repeat(200),
  'x'.repeat(300),
  '${{ secrets.TOKEN }}',
  "'; DROP TABLE resources; --",
];

/** Values a field of this name usually takes, so that requests get past the first checks. */
const hints: Record<string, string[]> = {
  product: ['mysql', 'postgres', 'redis', 'webapp', 'kafka'],
  tier: ['critical', 'high', 'medium', 'low'],
  cell: ['cell-us', 'cell-eu', 'cell-ap'],
  provider: ['aws', 'gcp', 'azure', 'oci'],
  cluster: ['aws-us-1', 'gcp-eu-1'],
  owner: ['group:default/payments', 'user:default/ana'],
  component: ['component:default/checkout'],
  namespace: ['default'],
  name: ['orders-db', 'fresh-db'],
  type: ['scale', 'backup', 'migrate', 'upgrade-version', 'failover'],
  size: ['small', 'medium', 'large'],
  id: ['00000000-0000-4000-8000-000000000000'],
};

const stringArbitrary = (key: string | undefined, schema: JsonSchema) => {
  const options: fc.WeightedArbitrary<string>[] = [
    { weight: 3, arbitrary: fc.constantFrom(...builtinNames) },
    { weight: 1, arbitrary: fc.constantFrom(...hostileStrings) },
    { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 10 }) },
  ];
  if (key && Object.hasOwn(hints, key)) {
    options.push({ weight: 3, arbitrary: fc.constantFrom(...hints[key]) });
  }
  if (typeof schema.pattern === 'string' && schema.pattern.length < 120) {
    try {
      options.push({
        weight: 1,
        arbitrary: fc
          .stringMatching(new RegExp(schema.pattern))
          .filter(s => s.length <= (schema.maxLength ?? 64)),
      });
    } catch {
      // A pattern JavaScript cannot compile: the other strings still go.
    }
  }
  return fc.oneof(...options);
};

/** Values for a JSON schema of the document: well-formed shapes with hostile content. */
function arbitraryOf(
  schema: JsonSchema | undefined,
  document: JsonSchema,
  key?: string,
  depth = 0,
): fc.Arbitrary<unknown> {
  if (!schema || depth > 5) return fc.constant(undefined);
  if (schema.$ref) {
    const name = String(schema.$ref).split('/').pop()!;
    return arbitraryOf(document.components.schemas[name], document, key, depth);
  }
  if (schema.enum) {
    return fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(...schema.enum) },
      { weight: 1, arbitrary: fc.constantFrom(...builtinNames) },
    );
  }
  if (schema.const !== undefined) return fc.constant(schema.const);
  const variants = schema.anyOf ?? schema.oneOf;
  if (variants) {
    return fc.oneof(
      ...variants.map((v: JsonSchema) => arbitraryOf(v, document, key, depth)),
    );
  }
  if (schema.allOf) return arbitraryOf(schema.allOf[0], document, key, depth);
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'string':
      return stringArbitrary(key, schema);
    case 'integer':
      return fc.oneof(
        fc.integer({ min: schema.minimum ?? -10, max: schema.maximum ?? 1000 }),
        fc.constantFrom(-1, 0, 2 ** 31, Number.MAX_SAFE_INTEGER),
      );
    case 'number':
      return fc.oneof(
        fc.double({
          noNaN: true,
          noDefaultInfinity: true,
          min: -1e6,
          max: 1e6,
        }),
        fc.constantFrom(0, -1, 1e300),
      );
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array':
      return fc.array(arbitraryOf(schema.items, document, key, depth + 1), {
        maxLength: 3,
      });
    case 'object':
    default: {
      const properties: Record<string, JsonSchema> = schema.properties ?? {};
      const record = fc.record(
        Object.fromEntries(
          Object.entries(properties).map(([k, v]) => [
            k,
            arbitraryOf(v, document, k, depth + 1),
          ]),
        ),
        { requiredKeys: schema.required ?? [] },
      );
      if (schema.additionalProperties === false) return record;
      // Maps (params, labels, env): built-in names as keys too.
      const extra = fc.dictionary(
        fc.oneof(
          fc.constantFrom(...builtinNames),
          fc.constantFrom('size', 'replicas', 'storageGi', 'version', 'image'),
          fc.string({ maxLength: 12 }),
        ),
        fc.oneof(
          arbitraryOf(
            schema.additionalProperties,
            document,
            undefined,
            depth + 1,
          ),
          fc.jsonValue({ maxDepth: 2 }),
        ),
        { maxKeys: 4 },
      );
      return fc
        .tuple(record, extra)
        .map(([r, e]) => ({ ...e, ...(r as object) }));
    }
  }
}

interface Operation {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  path: string;
  operation: JsonSchema;
}

/** A request to `op`: path and query parameters and a body drawn from their schemas. */
function requestOf({ operation }: Operation, document: JsonSchema) {
  const parameters: JsonSchema[] = operation.parameters ?? [];
  const inPath = parameters.filter(p => p.in === 'path');
  const inQuery = parameters.filter(p => p.in === 'query');
  const bodySchema =
    operation.requestBody?.content?.['application/json']?.schema;
  return fc.record({
    params: fc.record(
      Object.fromEntries(
        inPath.map(p => [p.name, arbitraryOf(p.schema, document, p.name)]),
      ),
    ),
    query: fc.record(
      Object.fromEntries(
        inQuery.map(p => [p.name, arbitraryOf(p.schema, document, p.name)]),
      ),
      { requiredKeys: [] },
    ),
    body: bodySchema
      ? arbitraryOf(bodySchema, document)
      : fc.constant(undefined),
    idempotencyKey: fc.option(fc.constantFrom('k1', 'k2', 'constructor'), {
      nil: undefined,
    }),
  });
}

describe.each(databases.eachSupportedId())(
  'every operation of the API, given hostile input, on %s',
  databaseId => {
    let cp: Awaited<ReturnType<typeof startControlPlane>>;
    let document: JsonSchema;
    // The branch's head as git keeps it (a loose ref, else packed-refs): read from the file,
    // not by a git process, twice per request of a few thousand.
    const head = () => {
      try {
        return readFileSync(
          join(cp.repoPath, 'refs', 'heads', 'main'),
          'utf8',
        ).trim();
      } catch {
        const packed = readFileSync(join(cp.repoPath, 'packed-refs'), 'utf8');
        return /^([0-9a-f]{40}) refs\/heads\/main$/m.exec(packed)?.[1] ?? '';
      }
    };

    beforeAll(async () => {
      cp = await startControlPlane(databases, databaseId);
      const as = authAs(users.ana);
      await request(cp.server)
        .post('/api/control-plane/resources')
        .set('authorization', as)
        .send({
          name: 'orders-db',
          product: 'mysql',
          owner: 'group:default/payments',
          tier: 'medium',
          cell: 'cell-us',
          params: { size: 'small' },
        })
        .expect(201);
      document = (
        await request(cp.server).get('/api/control-plane/openapi.json')
      ).body;
    });
    afterAll(async () => {
      await cp?.cleanup();
    });

    it('refuses a control character in a list filter with a 400 naming the field (a NUL reached PostgreSQL as a 500)', async () => {
      for (const path of [
        '/resources?namespace=%00',
        '/resources?owner=a%0Ab',
        '/audit?actor=%00',
      ]) {
        const res = await request(cp.server)
          .get(`/api/control-plane${path}`)
          .set('authorization', authAs(users.ana));
        expect([res.status, res.body.error?.message]).toEqual([
          400,
          expect.stringMatching(
            /(namespace|owner|actor).*must not contain (control characters|a NUL character)/,
          ),
        ]);
      }
    });

    it('never answers 5xx, a refused request writes nothing, and the audit chain stays valid', async () => {
      const operations: Operation[] = Object.entries<
        Record<string, JsonSchema>
      >(document.paths).flatMap(([path, methods]) =>
        Object.entries(methods)
          // The event stream stays open: its JSON page is asked for below like any read.
          .map(([method, operation]) => ({
            method: method as Operation['method'],
            path,
            operation,
          })),
      );
      expect(operations.length).toBeGreaterThan(40);
      const counted = [
        'resources',
        'operations',
        'idempotency_keys',
        'experiments',
        'feature_flags',
      ];
      const counts = async () =>
        Promise.all(
          counted.map(async t =>
            Number((await cp.knex(t).count({ n: '*' }))[0].n),
          ),
        );

      /** Sends one drawn request to `op`, failing on a 5xx or on a refusal that wrote. */
      const sendOne = async (op: Operation, input: any) => {
        const url = `/api/control-plane${op.path.replace(
          /\{(\w+)\}/g,
          (_, name) =>
            encodeURIComponent(
              String((input.params as Record<string, unknown>)[name] ?? ''),
            ),
        )}`;
        const before = { head: head(), counts: await counts() };
        let req = request(cp.server)
          [op.method](url)
          .set('authorization', authAs(users.ana))
          .set('accept', 'application/json')
          .query(
            Object.fromEntries(
              Object.entries(input.query).filter(([, v]) => v !== undefined),
            ) as Record<string, string>,
          );
        if (input.idempotencyKey) {
          req = req.set('idempotency-key', input.idempotencyKey);
        }
        const res = await (input.body === undefined
          ? req
          : req.send(input.body as object));
        const what = `${op.method.toUpperCase()} ${url} ${JSON.stringify(
          input.body,
        )?.slice(0, 300)} → ${res.status} ${JSON.stringify(
          res.body?.error?.message ?? '',
        )}`;
        if (res.status >= 500) throw new Error(what);
        if (res.status >= 400) {
          const after = { head: head(), counts: await counts() };
          if (JSON.stringify(after) !== JSON.stringify(before)) {
            throw new Error(
              `${what} wrote: ${JSON.stringify(before)} → ${JSON.stringify(
                after,
              )}`,
            );
          }
        }
      };

      for (const op of operations) {
        // A NUL in every path parameter: PostgreSQL's text refuses it, so it must never
        // reach a query (a cluster operation's id once answered 500 here).
        const nul = Object.fromEntries(
          [...op.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => [
            name,
            '\u0000',
          ]),
        );
        if (Object.keys(nul).length) {
          await sendOne(op, {
            params: nul,
            query: {},
            idempotencyKey: 'k-nul',
          });
        }
        await fc.assert(
          fc.asyncProperty(requestOf(op, document), input =>
            sendOne(op, input),
          ),
          { numRuns: 25, endOnFailure: true },
        );
      }

      const verify = await request(cp.server)
        .get('/api/control-plane/audit/verify')
        .set('authorization', authAs(users.ana));
      expect(verify.body).toMatchObject({ valid: true });
    });
  },
);

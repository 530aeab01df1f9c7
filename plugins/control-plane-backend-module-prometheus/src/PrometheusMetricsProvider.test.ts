import { MetricsQuery } from '@idp-multicloud/plugin-control-plane-node';
import express from 'express';
import { AddressInfo, createServer, Server } from 'node:net';
import { PrometheusMetricsProvider } from './PrometheusMetricsProvider';

/**
 * A small, faithful fake of Prometheus' `/api/v1/query_range`: it takes the form-encoded
 * POST Prometheus takes, answers the JSON envelope Prometheus answers (`status`, `data` or
 * `errorType` and `error`, with its status codes), and refuses what Prometheus' parser refuses
 * here: an unbalanced parenthesis.
 */
function fakePrometheus(
  answer: (query: string) => { status: number; body: unknown },
) {
  const app = express();
  const seen: Record<string, string>[] = [];
  app.post(
    '/api/v1/query_range',
    express.urlencoded({ extended: false }),
    (req, res) => {
      seen.push(req.body);
      const query = String(req.body.query);
      const opens = query.split('(').length;
      const closes = query.split(')').length;
      if (opens !== closes) {
        res.status(400).json({
          status: 'error',
          errorType: 'bad_data',
          error: `invalid parameter "query": 1:${query.length}: parse error: unclosed left parenthesis`,
        });
        return;
      }
      const { status, body } = answer(query);
      res.status(status).json(body);
    },
  );
  return new Promise<{ url: string; seen: typeof seen; close: () => void }>(
    resolve => {
      const server = app.listen(0, '127.0.0.1', () => {
        const { port } = server.address() as AddressInfo;
        resolve({
          url: `http://127.0.0.1:${port}`,
          seen,
          close: () => server.close(),
        });
      });
    },
  );
}

const matrix = (values: [number, string][][]) => ({
  status: 200,
  body: {
    status: 'success',
    data: {
      resultType: 'matrix',
      result: values.map(v => ({ metric: {}, values: v })),
    },
  },
});

const query = (extra: Partial<MetricsQuery> = {}): MetricsQuery =>
  ({
    metric: 'error-rate',
    target: {
      ref: 'resource:default/shop',
      namespace: 'default',
      name: 'shop',
      version: '1.1.0',
    },
    window: {
      start: new Date('2026-12-07T10:00:00Z'),
      end: new Date('2026-12-07T10:05:00Z'),
      stepSeconds: 60,
    },
    ...extra,
  } as MetricsQuery);

describe('PrometheusMetricsProvider', () => {
  let fake: Awaited<ReturnType<typeof fakePrometheus>> | undefined;
  afterEach(() => {
    fake?.close();
    fake = undefined;
  });

  it('runs the error-rate PromQL over the window and answers its samples, NaN points left out', async () => {
    fake = await fakePrometheus(() =>
      matrix([
        [
          [1796637600, '0.002'],
          [1796637660, 'NaN'],
          [1796637720, '0.004'],
        ],
      ]),
    );
    const provider = new PrometheusMetricsProvider({ baseUrl: fake.url });
    const series = await provider.query(query());
    expect(series).toMatchObject({
      metric: 'error-rate',
      unit: 'ratio',
      samples: [
        { time: 1796637600000, value: 0.002 },
        { time: 1796637720000, value: 0.004 },
      ],
    });
    expect(fake.seen[0]).toEqual({
      query:
        'sum(rate(http_requests_total{namespace="default",service="shop",version="1.1.0",code=~"5.."}[60s])) / ' +
        'sum(rate(http_requests_total{namespace="default",service="shop",version="1.1.0"}[60s]))',
      start: String(Date.parse('2026-12-07T10:00:00Z') / 1000),
      end: String(Date.parse('2026-12-07T10:05:00Z') / 1000),
      step: '60s',
    });
  });

  it('quotes the target inside custom queries, so a version cannot inject PromQL', async () => {
    const provider = new PrometheusMetricsProvider({
      baseUrl: 'http://127.0.0.1:1',
    });
    const promql = provider.promql(
      query({
        metric: 'custom',
        query: 'sum(up{app="{{name}}",version="{{version}}",cell="{{cell}}"})',
        target: {
          ref: 'resource:default/shop',
          namespace: 'default',
          name: 'shop',
          version: '1"} or vector(1) #',
          cell: 'cell-us',
        },
      } as Partial<MetricsQuery>),
    );
    expect(promql).toBe(
      'sum(up{app="shop",version="1\\"} or vector(1) #",cell="cell-us"})',
    );
  });

  it('says the query is at fault when Prometheus cannot parse it, with its own message', async () => {
    fake = await fakePrometheus(() => matrix([]));
    const provider = new PrometheusMetricsProvider({ baseUrl: fake.url });
    await expect(
      provider.query(
        query({
          metric: 'custom',
          query: 'sum(rate(x[1m])',
        } as Partial<MetricsQuery>),
      ),
    ).rejects.toMatchObject({
      name: 'MetricsProviderError',
      code: 'bad-query',
      retryable: false,
      message:
        'Prometheus refused the query (bad_data): invalid parameter "query": 1:15: parse error: unclosed left parenthesis; query: sum(rate(x[1m])',
    });
  });

  it('refuses a query that gives several series, asking to aggregate it', async () => {
    fake = await fakePrometheus(() =>
      matrix([[[1796637600, '1']], [[1796637600, '2']]]),
    );
    const provider = new PrometheusMetricsProvider({ baseUrl: fake.url });
    await expect(
      provider.query(
        query({ metric: 'custom', query: 'up' } as Partial<MetricsQuery>),
      ),
    ).rejects.toMatchObject({
      code: 'bad-query',
      message: expect.stringMatching(
        /must give one series, it gave 2 matrix: aggregate it/,
      ),
    });
  });

  it('says Prometheus is unavailable, and retryable, when it answers 503', async () => {
    fake = await fakePrometheus(() => ({
      status: 503,
      body: {
        status: 'error',
        errorType: 'unavailable',
        error: 'TSDB not ready',
      },
    }));
    const provider = new PrometheusMetricsProvider({ baseUrl: fake.url });
    await expect(provider.query(query())).rejects.toMatchObject({
      code: 'unavailable',
      retryable: true,
      message: `Prometheus at ${fake.url} answered 503: TSDB not ready`,
    });
  });

  it('says Prometheus is unavailable when nothing listens at its URL', async () => {
    // A port that was free a moment ago: nothing listens there.
    const server: Server = createServer();
    await new Promise<void>(r => server.listen(0, '127.0.0.1', () => r()));
    const { port } = server.address() as AddressInfo;
    await new Promise(r => server.close(r));
    const provider = new PrometheusMetricsProvider({
      baseUrl: `http://127.0.0.1:${port}`,
    });
    await expect(provider.query(query())).rejects.toMatchObject({
      code: 'unavailable',
      message: `Prometheus at http://127.0.0.1:${port} could not be reached (ECONNREFUSED)`,
    });
  });

  it('refuses a window that ends before it starts, before asking Prometheus', async () => {
    const provider = new PrometheusMetricsProvider({
      baseUrl: 'http://127.0.0.1:1',
    });
    await expect(
      provider.query(
        query({
          window: {
            start: new Date('2026-12-07T10:05:00Z'),
            end: new Date('2026-12-07T10:00:00Z'),
            stepSeconds: 60,
          },
        }),
      ),
    ).rejects.toMatchObject({
      code: 'bad-query',
      message: /start before it ends/,
    });
  });
});

import '@testing-library/jest-dom';
import { registerMswTestHooks } from '@backstage/frontend-test-utils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { Schemas } from '@idp-multicloud/sdk';
import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { http } from 'msw';
import { setupServer } from 'msw/node';
import { reply } from '../../__testUtils__/msw';
import { resource } from '../../__testUtils__/fixtures';
import {
  base,
  component,
  infrastructureBackend,
  renderInfrastructure as render,
} from '../../__testUtils__/infrastructure';

type Deployment = Schemas['Deployment'];

// The tab renders two charts per deployment: on two busy cores that takes seconds.
jest.setTimeout(30_000);

const t0 = Date.parse('2026-11-02T10:00:00.000Z');
const samples = (values: number[]) =>
  values.map((v, i) => [t0 + i * 1000, v] as [number, number]);

const canarySteps = (
  states: Deployment['steps'][number]['state'][],
): Deployment['steps'] =>
  [
    { kind: 'start' as const, description: 'start 1.1.0 beside 1.0.0' },
    { kind: 'setWeight' as const, description: 'set weight 5 %', weight: 5 },
    { kind: 'analysis' as const, description: 'analysis' },
    { kind: 'setWeight' as const, description: 'set weight 25 %', weight: 25 },
    { kind: 'promote' as const, description: 'promote 1.1.0', weight: 100 },
  ].map((s, index) => ({ ...s, index, state: states[index] }));

/** A bad 1.1.0: half its requests fail; the first analysis at 5 % rolled it back. */
const rolledBack: Deployment = {
  id: '3f2a1b0c-9d8e-4f7a-b6c5-d4e3f2a1b0c9',
  resourceRef: 'resource:default/shop',
  operationId: '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d',
  fromVersion: '1.0.0',
  toVersion: '1.1.0',
  generation: 2,
  strategy: 'canary',
  phase: 'RolledBack',
  message: 'analysis failed at step 2: error-rate',
  currentStep: 2,
  steps: canarySteps([
    'succeeded',
    'succeeded',
    'failed',
    'pending',
    'pending',
  ]),
  weights: { canary: 0 },
  metricsProvider: 'prometheus',
  measurements: [
    {
      step: 2,
      index: 1,
      verdict: 'fail',
      startedAt: '2026-11-02T10:00:00.000Z',
      endedAt: '2026-11-02T10:00:10.000Z',
      metrics: [
        {
          metric: 'error-rate',
          verdict: 'fail',
          reasons: ['median 48.00 % above the threshold 1.00 %'],
          threshold: { limit: 0.01, kind: 'max' },
          canaryMedian: 0.48,
          baselineMedian: 0.002,
          pValue: 0.0002,
          effectSize: 0.98,
          canary: samples([0.5, 0.46, 0.48, 0.51, 0.47]),
          baseline: samples([0.002, 0.001, 0.003, 0.002, 0.002]),
        },
        {
          metric: 'latency-p99',
          verdict: 'pass',
          reasons: [],
          threshold: { limit: 500, kind: 'max' },
          canaryMedian: 120,
          baselineMedian: 118,
          pValue: 0.41,
          effectSize: 0.53,
          canary: samples([118, 121, 120, 125, 119]),
          baseline: samples([117, 118, 119, 118, 120]),
        },
      ],
    },
  ],
  approvals: [],
  actor: 'user:default/alice',
  startedAt: '2026-11-02T10:00:00.000Z',
  endedAt: '2026-11-02T10:00:12.000Z',
  durationMs: 12_000,
};

/** An earlier deployment that made 1.0.0 the stable version. */
const succeeded: Deployment = {
  ...rolledBack,
  id: '0c9b8a7d-6e5f-4a3b-9c1d-e0f1a2b3c4d5',
  fromVersion: '0.9.0',
  toVersion: '1.0.0',
  phase: 'Succeeded',
  message: undefined,
  currentStep: 4,
  steps: canarySteps([
    'succeeded',
    'succeeded',
    'succeeded',
    'succeeded',
    'succeeded',
  ]),
  weights: { canary: 100 },
  measurements: [],
  actor: 'user:default/bruno',
  startedAt: '2026-11-01T09:00:00.000Z',
  durationMs: 185_000,
};

/** 1.1.0 at 5 %, waiting at its first analysis. */
const progressing: Deployment = {
  ...rolledBack,
  phase: 'Progressing',
  message: undefined,
  steps: canarySteps([
    'succeeded',
    'succeeded',
    'running',
    'pending',
    'pending',
  ]),
  weights: { canary: 5 },
  measurements: [],
  endedAt: undefined,
  durationMs: undefined,
};

describe('EntityInfrastructureContent: deployments', () => {
  const server = setupServer();
  registerMswTestHooks(server);
  const { backend } = infrastructureBackend(server);

  /** The backend with a webapp `shop` running 1.0.0 and these deployments. */
  function withDeployments(deployments: Deployment[]) {
    backend([
      {
        ...resource('shop', { product: 'webapp' }),
        status: { ...resource('shop').status, version: '1.0.0' },
      },
    ]);
    const calls: string[] = [];
    server.use(
      http.get(`${base}/resources/:ns/:name/deployments`, () =>
        reply('DeploymentList', {
          items: deployments.map(d => ({ ...d, measurements: [] })),
        }),
      ),
      http.get(`${base}/deployments/:id`, ({ params }) =>
        reply('Deployment', deployments.find(d => d.id === params.id)!),
      ),
      http.post(`${base}/deployments/:id/:action`, ({ params }) => {
        calls.push(`${params.action} ${params.id}`);
        return reply('Deployment', {
          ...deployments[0],
          phase: params.action === 'abort' ? 'Aborted' : 'Progressing',
        });
      }),
      http.post(`${base}/resources/:ns/:name/rollback`, async ({ request }) => {
        calls.push(`rollback ${JSON.stringify(await request.json())}`);
        return reply('Resource', resource('shop', { product: 'webapp' }));
      }),
    );
    return calls;
  }

  it('shows a rolled-back deployment: the failed measurement, its threshold, the traffic back on the stable version', async () => {
    withDeployments([rolledBack, succeeded]);
    render();
    const section = await screen.findByRole('region', {
      name: 'Latest deployment',
    });
    expect(
      await within(section).findByLabelText('Phase: RolledBack'),
    ).toBeInTheDocument();
    expect(
      within(section).getByText('analysis failed at step 2: error-rate'),
    ).toBeInTheDocument();
    // the steps: it never went past 5 %
    const steps = within(section).getByRole('list', { name: 'Steps' });
    expect(
      within(steps)
        .getAllByRole('listitem')
        .map(li => li.getAttribute('aria-label')),
    ).toEqual([
      'start 1.1.0 beside 1.0.0: succeeded',
      'set weight 5 %: succeeded',
      'analysis: failed',
      'set weight 25 %: pending',
      'promote 1.1.0: pending',
    ]);
    expect(
      within(section).getByRole('img', {
        name: 'Traffic: 0 % on 1.1.0 (new) · 100 % on 1.0.0 (stable)',
      }),
    ).toBeInTheDocument();
    // the failed measurement, with its threshold, p-value and effect size
    // the analysis (its plots load on demand)
    const failed = await within(section).findByRole('row', {
      name: 'Error rate fail, measurement 1 of step 2',
    });
    expect(within(failed).getByText('48.0 % / 0.20 %')).toBeInTheDocument();
    expect(within(failed).getByText('at most 1.00 %')).toBeInTheDocument();
    expect(within(failed).getByText('0.0002')).toBeInTheDocument();
    expect(within(failed).getByText('0.98')).toBeInTheDocument();
    expect(
      within(failed).getByText('median 48.00 % above the threshold 1.00 %'),
    ).toBeInTheDocument();
    expect(
      within(section).getByRole('row', {
        name: 'p99 latency pass, measurement 1 of step 2',
      }),
    ).toBeInTheDocument();
    // one plot per metric, the new version against the stable one, the threshold drawn
    const errorPlot = within(section).getByRole('figure', {
      name: 'Error rate: 1.1.0 against 1.0.0',
    });
    expect(
      within(errorPlot).getByText(/threshold at most 1.00 %/),
    ).toBeInTheDocument();
    expect(
      errorPlot.querySelector('.recharts-reference-line'),
    ).toBeInTheDocument();
    expect(errorPlot.querySelectorAll('.recharts-line')).toHaveLength(2);
    expect(within(errorPlot).getByText('1.1.0 (new)')).toBeInTheDocument();
    expect(within(errorPlot).getByText('1.0.0 (stable)')).toBeInTheDocument();
    expect(
      within(section).getByRole('figure', {
        name: 'p99 latency: 1.1.0 against 1.0.0',
      }),
    ).toBeInTheDocument();
    // nothing to act on in a deployment that is over
    expect(
      within(section).queryByRole('button', { name: 'Abort' }),
    ).not.toBeInTheDocument();
  });

  it('lists the version history: from → to, strategy, outcome, who and how long', async () => {
    withDeployments([rolledBack, succeeded]);
    render();
    const history = await screen.findByRole('table', {
      name: 'Deployment history',
    });
    const bad = within(history).getByRole('row', {
      name: '1.0.0 → 1.1.0 RolledBack',
    });
    expect(within(bad).getByText('canary')).toBeInTheDocument();
    expect(within(bad).getByText('user:default/alice')).toBeInTheDocument();
    expect(within(bad).getByText('12 s')).toBeInTheDocument();
    const good = within(history).getByRole('row', {
      name: '0.9.0 → 1.0.0 Succeeded',
    });
    expect(within(good).getByText('user:default/bruno')).toBeInTheDocument();
    expect(within(good).getByText('3 min 5 s')).toBeInTheDocument();
    // the running 1.0.0 is not offered; the version before it is
    expect(
      within(good).queryByRole('button', { name: 'Roll back to 1.0.0' }),
    ).not.toBeInTheDocument();
    expect(
      within(bad).queryByRole('button', { name: /Roll back/ }),
    ).not.toBeInTheDocument();
  });

  it('asks before rolling back to a past succeeded version', async () => {
    const calls = withDeployments([rolledBack, succeeded]);
    render();
    const history = await screen.findByRole('table', {
      name: 'Deployment history',
    });
    await userEvent.click(
      await within(history).findByRole('button', {
        name: 'Roll back to 0.9.0',
      }),
    );
    const dialog = await screen.findByRole('dialog');
    expect(
      within(dialog).getByText('Roll shop back to 0.9.0?'),
    ).toBeInTheDocument();
    expect(calls).toEqual([]);
    await userEvent.click(
      within(dialog).getByRole('button', { name: 'Roll back to 0.9.0' }),
    );
    expect(
      await screen.findByText('Rollback of shop to 0.9.0 requested'),
    ).toBeInTheDocument();
    expect(calls).toEqual(['rollback {"toVersion":"0.9.0"}']);
  });

  it('shows the canary in progress at 5 % and asks before aborting it', async () => {
    const calls = withDeployments([progressing, succeeded]);
    render();
    const section = await screen.findByRole('region', {
      name: 'Deployment in progress',
    });
    expect(
      await within(section).findByRole('img', {
        name: 'Traffic: 5 % on 1.1.0 (new) · 95 % on 1.0.0 (stable)',
      }),
    ).toBeInTheDocument();
    expect(
      within(section).getByRole('listitem', { current: 'step' }),
    ).toHaveAccessibleName('analysis: running');
    expect(
      await within(section).findByText('No analysis has measured 1.1.0 yet.'),
    ).toBeInTheDocument();
    // no rollback while a deployment runs
    expect(
      screen.queryByRole('button', { name: /Roll back to/ }),
    ).not.toBeInTheDocument();

    await userEvent.click(
      within(section).getByRole('button', { name: 'Abort' }),
    );
    const dialog = await screen.findByRole('dialog');
    expect(
      within(dialog).getByText('Abort 1.0.0 → 1.1.0?'),
    ).toBeInTheDocument();
    expect(
      within(dialog).getByText(/Traffic goes back to 1.0.0/),
    ).toBeInTheDocument();
    expect(calls).toEqual([]);
    await userEvent.click(within(dialog).getByRole('button', { name: 'Back' }));
    expect(calls).toEqual([]);

    await userEvent.click(
      within(section).getByRole('button', { name: 'Abort' }),
    );
    await userEvent.click(
      within(await screen.findByRole('dialog')).getByRole('button', {
        name: 'Abort',
      }),
    );
    expect(
      await screen.findByText('Abort of 1.0.0 → 1.1.0 accepted: Aborted'),
    ).toBeInTheDocument();
    expect(calls).toEqual([`abort ${progressing.id}`]);
  });

  it('offers no deployment action and no rollback to a user who may neither operate nor update the resource', async () => {
    const calls = withDeployments([progressing, succeeded]);
    render(component, name =>
      name === 'control-plane.resource.operate' ||
      name === 'control-plane.resource.update'
        ? AuthorizeResult.DENY
        : AuthorizeResult.ALLOW,
    );
    const section = await screen.findByRole('region', {
      name: 'Deployment in progress',
    });
    expect(
      await within(section).findByText(
        'You may follow this deployment but not act on it.',
      ),
    ).toBeInTheDocument();
    for (const name of [
      'Abort',
      'Pause',
      'Resume',
      'Promote',
      'Promote fully',
      'Approve',
    ]) {
      expect(
        within(section).queryByRole('button', { name }),
      ).not.toBeInTheDocument();
    }
    expect(
      screen.queryByRole('button', { name: /Roll back to/ }),
    ).not.toBeInTheDocument();
    expect(calls).toEqual([]);
  });

  it('shows a paused rollout in waves: one traffic bar per cell, and Resume instead of Pause', async () => {
    const calls = withDeployments([
      {
        ...progressing,
        phase: 'Paused',
        weights: { canary: 20, cells: { 'cell-us': 20, 'cell-eu': 0 } },
        steps: progressing.steps.map(s => ({
          ...s,
          wave: 0,
          cells: ['cell-us'],
        })),
      },
    ]);
    render();
    const section = await screen.findByRole('region', {
      name: 'Deployment in progress',
    });
    expect(
      await within(section).findByLabelText('Phase: Paused'),
    ).toBeInTheDocument();
    expect(
      within(section).getByRole('img', {
        name: 'Traffic in cell-us: 20 % on 1.1.0 (new) · 80 % on 1.0.0 (stable)',
      }),
    ).toBeInTheDocument();
    expect(
      within(section).getByRole('img', {
        name: 'Traffic in cell-eu: 0 % on 1.1.0 (new) · 100 % on 1.0.0 (stable)',
      }),
    ).toBeInTheDocument();
    expect(
      within(section).queryByRole('button', { name: 'Pause' }),
    ).not.toBeInTheDocument();
    await userEvent.click(
      within(section).getByRole('button', { name: 'Resume' }),
    );
    await userEvent.click(
      within(await screen.findByRole('dialog')).getByRole('button', {
        name: 'Resume',
      }),
    );
    expect(
      await screen.findByText('Resume of 1.0.0 → 1.1.0 accepted: Progressing'),
    ).toBeInTheDocument();
    expect(calls).toEqual([`resume ${progressing.id}`]);
  });

  it('shows which version runs where on the component page', async () => {
    withDeployments([progressing, succeeded]);
    const queries: (string | null)[] = [];
    server.use(
      http.get(`${base}/versions`, ({ request }) => {
        queries.push(new URL(request.url).searchParams.get('component'));
        return reply('VersionList', {
          items: [
            {
              resourceRef: 'resource:default/shop',
              product: 'webapp',
              component: 'component:default/checkout',
              cell: 'cell-us',
              provider: 'aws',
              cluster: 'aws-us-1',
              version: '1.0.0',
              deploying: {
                id: progressing.id,
                toVersion: '1.1.0',
                canaryWeight: 5,
              },
            },
          ],
        });
      }),
    );
    render();
    const table = await screen.findByRole('table', { name: 'Versions' });
    const row = await within(table).findByRole('row', { name: 'shop' });
    for (const text of [
      'cell-us',
      'aws',
      'aws-us-1',
      '1.0.0',
      '→ 1.1.0 at 5 %',
    ]) {
      expect(within(row).getByText(text)).toBeInTheDocument();
    }
    expect(queries[0]).toBe('component:default/checkout');
  });
});

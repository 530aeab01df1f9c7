/*
 * The bad-version path end to end, in a real headless Chromium against the example app, with
 * a real Prometheus behind the analysis: a webapp at 1.0.0 rolls out 1.1.0 as a canary, 1.1.0
 * fails half its requests (the simulator's `misbehaving-version` fault), Prometheus scrapes the
 * simulator's workloads, the first analysis at 5 % fails on it, and the deployment rolls back.
 * The Infrastructure tab shows each stage as it happens.
 *
 * IDP_E2E_SCREENSHOTS=1 writes docs/screenshots/deployment-canary.png (mid-canary) and
 * deployment-rolled-back.png.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Browser, Page } from 'playwright-core';
import { ensureAppBuilt } from './__testUtils__/app';
import {
  exampleConfig,
  freePort,
  guestToken,
  RunningBackend,
  startBackend,
} from './__testUtils__/backend';
import { launchChromium, signIn } from './__testUtils__/browser';
import { repoRoot } from './__testUtils__/paths';
import { RunningPrometheus, startPrometheus } from './__testUtils__/prometheus';

const screenshotDir = join(repoRoot, 'docs/screenshots');
// The outer limit of each wait on a busy 2-core machine.
const STEP = 60_000;

const component = 'checkout';
const name = 'shop';
const ref = `resource:default/${name}`;

const workDir = mkdtempSync(join(tmpdir(), 'idp-e2e-deploy-'));
let browser: Browser;
let backend: RunningBackend;
let prometheus: RunningPrometheus | undefined;
let page: Page;

/** A call to the control plane's API as the guest (payments and platform). */
async function controlPlane(
  method: 'GET' | 'POST' | 'PATCH',
  path: string,
  body?: object,
): Promise<any> {
  const res = await fetch(`${backend.baseUrl}/api/control-plane/${path}`, {
    method,
    headers: {
      Authorization: `Bearer ${await guestToken(backend.baseUrl)}`,
      ...(body ? { 'Content-Type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

/** Polls `check` until it gives something; fails with `what` and both logs. */
async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = STEP,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value) return value;
    if (Date.now() > deadline) {
      throw new Error(
        `timed out waiting for ${what}\nbackend log:\n${backend.logTail()}\nPrometheus log:\n${prometheus?.logTail()}`,
      );
    }
    await new Promise(r => setTimeout(r, 500));
  }
}

async function screenshot(file: string) {
  if (process.env.IDP_E2E_SCREENSHOTS !== '1') return;
  mkdirSync(screenshotDir, { recursive: true });
  // from the top, so that the fixed sidebar is drawn where it belongs, and folded (the
  // pointer away from it)
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.mouse.move(1400, 450);
  await page.waitForTimeout(500);
  await page.screenshot({ path: join(screenshotDir, file), fullPage: true });
}

beforeAll(async () => {
  ensureAppBuilt();
  browser = await launchChromium();
  const prometheusPort = await freePort();
  let backendPort = 0;
  backend = await startBackend({
    workDir,
    name: 'deployments',
    config: (baseUrl, port) => {
      backendPort = port;
      return exampleConfig(workDir, {
        controlPlane: {
          dataDir: join(workDir, 'control-plane'),
          simulator: {
            provisioningTime: '2s',
            // 200 requests/s in batches of 250 ms: 10/s on a 5 % canary
            traffic: { interval: 250, requestsPerSecond: 200 },
          },
          // analyses read Prometheus: rate() over 5 s, five of its 1 s scrapes
          prometheus: {
            baseUrl: `http://127.0.0.1:${prometheusPort}`,
            rateRange: 5000,
          },
          deployments: { metricsProvider: 'prometheus' },
        },
      })(baseUrl, port);
    },
  });
  prometheus = await startPrometheus({
    workDir,
    port: prometheusPort,
    target: `127.0.0.1:${backendPort}`,
    metricsPath: '/api/control-plane/simulator/metrics',
  });
  // The example organization, so that the guest's token carries its groups.
  const inCatalog = (entity: string) =>
    eventually(`${entity} in the catalog`, async () => {
      const res = await fetch(
        `${backend.baseUrl}/api/catalog/entities/by-name/${entity}`,
        {
          headers: {
            Authorization: `Bearer ${await guestToken(backend.baseUrl)}`,
          },
        },
      );
      return res.ok;
    });
  await inCatalog('group/default/payments');
  await inCatalog('group/default/platform');
  await inCatalog(`component/default/${component}`);
  const context = await browser.newContext({
    viewport: { width: 1440, height: 900 },
  });
  page = await context.newPage();
  page.setDefaultTimeout(STEP);
  await page.goto(backend.baseUrl);
  await signIn(page);
}, 300_000);

afterAll(async () => {
  await page?.context().close();
  await browser?.close();
  await backend?.stop();
  await prometheus?.stop();
  rmSync(workDir, { recursive: true, force: true });
});

it('rolls a misbehaving version back at 5 % on a failed Prometheus analysis, live on the Infrastructure tab', async () => {
  // A webapp at 1.0.0 whose canary analyses are one 10 s measurement read from Prometheus.
  await controlPlane('POST', 'resources', {
    name,
    product: 'webapp',
    owner: 'group:default/payments',
    component: `component:default/${component}`,
    tier: 'high',
    cell: 'cell-us',
    params: { image: 'ghcr.io/acme/shop', version: '1.0.0' },
    rollout: {
      strategy: 'canary',
      analysis: { provider: 'prometheus', interval: '10s', count: 1 },
    },
  });
  await eventually(
    `${ref} READY on 1.0.0`,
    async () => {
      const r = await controlPlane('GET', `resources/default/${name}`);
      return r.status.state === 'READY' && r.status.version === '1.0.0';
    },
    120_000,
  );
  // 1.1.0 will fail half of its requests.
  await controlPlane('POST', 'simulator/faults', {
    kind: 'misbehaving-version',
    ref,
    version: '1.1.0',
    errorRate: 0.5,
  });

  // The component's Infrastructure tab, its one resource shown.
  await page
    .getByRole('navigation', { name: 'sidebar nav' })
    .getByRole('link', { name: 'Catalog', exact: true })
    .click();
  await page.getByRole('link', { name: component, exact: true }).click();
  await page.getByRole('link', { name: 'Infrastructure', exact: true }).click();
  const resources = page.getByRole('table', {
    name: `Resources of ${component}`,
  });
  await resources
    .getByRole('row', { name })
    .getByLabel('State: READY')
    .waitFor();
  await page.getByText('No deployment yet').waitFor();

  // The new version: a canary starts, and the page follows it without a reload.
  await controlPlane('PATCH', `resources/default/${name}`, {
    params: { version: '1.1.0' },
  });
  const running = page.getByRole('region', { name: 'Deployment in progress' });
  await running
    .getByRole('img', {
      name: 'Traffic: 5 % on 1.1.0 (new) · 95 % on 1.0.0 (stable)',
    })
    .waitFor();
  await running
    .getByRole('listitem', { name: /^analysis.*: running$/ })
    .waitFor();
  // The guest may act on it: the actions are offered.
  await running.getByRole('button', { name: 'Abort' }).waitFor();
  await screenshot('deployment-canary.png');

  // The analysis reads 1.1.0's errors from Prometheus, fails, and the canary rolls back.
  const latest = page.getByRole('region', { name: 'Latest deployment' });
  await latest
    .getByLabel('Phase: RolledBack')
    .waitFor({ timeout: 120_000 })
    .catch(async e => {
      throw new Error(
        `no rollback on the page: ${e}\nbackend log:\n${backend.logTail()}`,
      );
    });
  await latest
    .getByRole('img', {
      name: 'Traffic: 0 % on 1.1.0 (new) · 100 % on 1.0.0 (stable)',
    })
    .waitFor();
  const failed = latest.getByRole('row', { name: /^Error rate fail,/ });
  await failed.waitFor();
  expect(await failed.getByRole('cell').nth(4).innerText()).toBe(
    'at most 1.00 %',
  );
  const plot = latest.getByRole('figure', {
    name: 'Error rate: 1.1.0 against 1.0.0',
  });
  await plot.getByText(/threshold at most 1\.00 %/).waitFor();
  await plot.locator('.recharts-reference-line').waitFor({ state: 'attached' });
  expect(await plot.locator('.recharts-line').count()).toBe(2);
  await latest
    .getByRole('figure', { name: 'p99 latency: 1.1.0 against 1.0.0' })
    .waitFor();
  // Over: nothing left to act on.
  expect(await latest.getByRole('button', { name: 'Abort' }).count()).toBe(0);
  // The version history, and the resource back on 1.0.0.
  await page
    .getByRole('table', { name: 'Deployment history' })
    .getByRole('row', { name: '1.0.0 → 1.1.0 RolledBack' })
    .waitFor();
  await eventually('the resources table to show 1.0.0', async () => {
    const cells = await resources
      .getByRole('row', { name })
      .getByRole('cell')
      .allInnerTexts();
    return cells[5] === '1.0.0';
  });
  await screenshot('deployment-rolled-back.png');

  // Behind the page: the analysis was Prometheus', on the errors it scraped from 1.1.0.
  const [deployment] = await controlPlane(
    'GET',
    `resources/default/${name}/deployments`,
  ).then(list => list.items);
  expect(deployment).toMatchObject({
    fromVersion: '1.0.0',
    toVersion: '1.1.0',
    phase: 'RolledBack',
    weights: { canary: 0 },
  });
  // Only the analysis asks Prometheus for ranges (this test's own queries are instant ones).
  const own = await (await fetch(`${prometheus!.baseUrl}/metrics`)).text();
  const rangeQueries =
    /^prometheus_http_requests_total\{code="200",handler="\/api\/v1\/query_range"\} (\d+)/m.exec(
      own,
    );
  expect(Number(rangeQueries?.[1] ?? 0)).toBeGreaterThan(0);
  const [errors] = await prometheus!.query(
    `sum(http_requests_total{service="${name}",version="1.1.0",code=~"5.."})`,
  );
  expect(errors).toBeGreaterThan(0);
  const resource = await controlPlane('GET', `resources/default/${name}`);
  expect(resource.status).toMatchObject({ state: 'READY', version: '1.0.0' });
}, 300_000);

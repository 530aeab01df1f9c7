/*
 * End to end, in a real headless Chromium against the example app: packages/backend serving the
 * built packages/app, with embedded defaults (SQLite, the simulated driver, guest sign-in) in a
 * fresh temporary directory.
 *
 * IDP_E2E_SCREENSHOTS=1 writes the screenshots shown in plugins/control-plane/README.md to
 * docs/screenshots/.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Browser, Page } from 'playwright-core';
import { ensureAppBuilt } from './__testUtils__/app';
import {
  exampleConfig as exampleConfigIn,
  guestToken,
  RunningBackend,
  startBackend,
} from './__testUtils__/backend';
import { launchChromium } from './__testUtils__/browser';
import { repoRoot } from './__testUtils__/paths';

const screenshots = process.env.IDP_E2E_SCREENSHOTS === '1';
const screenshotDir = join(repoRoot, 'docs/screenshots');

// Every wait below is bounded; these are the outer limits of each step on a busy 2-core machine.
const STEP = 60_000;
const READY_WITHIN = 90_000;

// What the test requests, and where it expects to see it.
const component = 'checkout';
const owner = 'group:default/payments';
// Each run has its own data directory, so the name is free.
const database = 'orders-db';

// The cluster the control plane placed it on, as the Infrastructure tab shows it.
let placedOn = '';

const workDir = mkdtempSync(join(tmpdir(), 'idp-e2e-'));

/** The example app's configuration, with its state in `workDir`. */
const exampleConfig = (overrides: object = {}) =>
  exampleConfigIn(workDir, overrides);

let browser: Browser;

beforeAll(async () => {
  ensureAppBuilt();
  browser = await launchChromium();
}, 600_000);

afterAll(async () => {
  await browser?.close();
  rmSync(workDir, { recursive: true, force: true });
});

async function signedIn(backend: RunningBackend): Promise<Page> {
  const page = await browser.newPage({
    viewport: { width: 1440, height: 900 },
  });
  page.setDefaultTimeout(STEP);
  await page.goto(backend.baseUrl);
  await page.getByRole('button', { name: 'Enter' }).click();
  await page.getByRole('link', { name: 'Catalog' }).first().waitFor();
  return page;
}

async function screenshot(page: Page, name: string) {
  if (!screenshots) return;
  mkdirSync(screenshotDir, { recursive: true });
  await page.screenshot({ path: join(screenshotDir, name), fullPage: true });
}

/** The resources table of the component's Infrastructure tab, opened like a user does. */
async function openInfrastructureTab(page: Page) {
  await page.goto(`${page.url().split('/').slice(0, 3).join('/')}/catalog`);
  await page.getByRole('link', { name: component, exact: true }).click();
  await page.getByRole('link', { name: 'Infrastructure', exact: true }).click();
  return page.getByRole('table', { name: `Resources of ${component}` });
}

describe('the example app, as a guest in the payments and platform groups', () => {
  let backend: RunningBackend;
  let page: Page;

  beforeAll(async () => {
    backend = await startBackend({
      workDir,
      name: 'guest',
      config: exampleConfig(),
    });
    page = await signedIn(backend);
  }, 180_000);

  afterAll(async () => {
    await page?.close();
    await backend?.stop();
  });

  it('requests a MySQL and sees it become READY on the Infrastructure tab', async () => {
    await requestMysql(backend);

    const table = await openInfrastructureTab(page);
    const row = table.getByRole('row', { name: database });
    await row.waitFor();
    await row
      .getByLabel('State: READY')
      .waitFor({ timeout: READY_WITHIN })
      .catch(async e => {
        throw new Error(
          `${database} did not become READY: ${e}\nbackend log:\n${backend.logTail()}`,
        );
      });
    const cells = await row.getByRole('cell').allInnerTexts();
    expect(cells.slice(1, 4)).toEqual(['mysql', 'high', 'cell-us']);
    // Provider / cluster, e.g. "gcp / gcp-us-central1".
    placedOn = cells[4].split(' / ')[1];
    expect(placedOn).toMatch(/^[a-z]+-[a-z0-9-]+$/);

    // Its details: where it was placed, how it was created, and what its owner may do.
    await row.getByRole('button', { name: `Show ${database}` }).click();
    await page.getByRole('heading', { name: 'Placement' }).waitFor();
    await page.getByRole('heading', { name: 'Operations' }).waitFor();
    await page.getByRole('heading', { name: 'Version history' }).waitFor();
    // The guest is in payments, which owns it: the guest may delete it.
    await page.getByRole('button', { name: 'Delete', exact: true }).waitFor();
    await page.getByRole('button', { name: 'Run operation' }).waitFor();
    await screenshot(page, 'infrastructure-tab.png');
  }, 240_000);

  it('verifies the audit chain on the Audit page', async () => {
    await page.getByRole('link', { name: 'Audit', exact: true }).click();
    // The request just made is in the log.
    await page.getByText(`resource:default/${database}`).first().waitFor();
    await page.getByRole('button', { name: 'Verify chain' }).click();
    const verdict = page
      .getByRole('status')
      .getByText(/^The chain is intact: \d+ events checked$/);
    await verdict.waitFor();
    const checked = Number(/(\d+) events/.exec(await verdict.innerText())![1]);
    expect(checked).toBeGreaterThan(0);
    await screenshot(page, 'audit.png');
  }, 120_000);

  it('shows the tiers and products on the Self-service page and the fleet on the Fleet page', async () => {
    await page.getByRole('link', { name: 'Self-service', exact: true }).click();
    await page.getByRole('heading', { name: 'Tiers' }).waitFor();
    await page.getByRole('heading', { name: 'MySQL' }).waitFor();
    expect(
      await page
        .getByRole('link', { name: 'Request MySQL' })
        .getAttribute('href'),
    ).toBe('/create/templates/default/new-mysql-database');
    await screenshot(page, 'self-service.png');

    await page.getByRole('link', { name: 'Fleet', exact: true }).click();
    for (const section of ['Providers', 'Cells', 'Clusters']) {
      await page.getByRole('heading', { name: section }).waitFor();
    }
    // The cluster the database was placed on, among the fleet's.
    const clusters = page.getByRole('table', { name: 'Clusters' });
    await clusters.getByRole('row', { name: placedOn, exact: true }).waitFor();
    expect(await clusters.getByRole('row').count()).toBeGreaterThan(1);
    await screenshot(page, 'fleet.png');
  }, 120_000);
});

describe('the same data, as a platform engineer outside the owning team', () => {
  // Ana (examples/org.yaml) is in platform only: she may read and operate every resource,
  // but delete only her teams' — and payments owns the database.
  let backend: RunningBackend;
  let page: Page;

  beforeAll(async () => {
    backend = await startBackend({
      workDir,
      name: 'ana',
      config: exampleConfig({
        auth: {
          providers: {
            guest: {
              userEntityRef: 'user:default/ana',
              dangerouslyAllowOutsideDevelopment: true,
            },
          },
        },
      }),
    });
    page = await signedIn(backend);
  }, 180_000);

  afterAll(async () => {
    await page?.close();
    await backend?.stop();
  });

  it('sees no Delete action, and the API refuses the deletion anyway', async () => {
    const table = await openInfrastructureTab(page);
    const row = table.getByRole('row', { name: database });
    await row.getByLabel('State: READY').waitFor();
    await row.getByRole('button', { name: `Show ${database}` }).click();
    // The actions have loaded: she may operate it ...
    await page.getByRole('button', { name: 'Run operation' }).waitFor();
    // ... but is not offered to delete it.
    expect(
      await page.getByRole('button', { name: 'Delete', exact: true }).count(),
    ).toBe(0);

    const token = await guestToken(backend.baseUrl);
    const url = `${backend.baseUrl}/api/control-plane/resources/default/${database}`;
    const refused = await fetch(url, {
      method: 'DELETE',
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(refused.status).toBe(403);
    const after = await fetch(url, {
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(after.status).toBe(200);
    expect((await after.json()).status.state).toBe('READY');
  }, 180_000);
});

/**
 * Requests the MySQL as the signed-in guest, through the control plane API with the guest's
 * token. NOT YET through the "New MySQL database" template: templates/new-mysql-database had
 * not landed when this test was written. Replace this with the user's path (Self-service,
 * "Request MySQL", fill in the template, "Create") once it has.
 */
async function requestMysql(backend: RunningBackend) {
  const token = await guestToken(backend.baseUrl);
  const res = await fetch(`${backend.baseUrl}/api/control-plane/resources`, {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${token}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify({
      product: 'mysql',
      name: database,
      owner,
      component: `component:default/${component}`,
      tier: 'high',
      cell: 'cell-us',
      params: {},
    }),
  });
  if (res.status !== 201 && res.status !== 202 && res.status !== 200) {
    throw new Error(
      `requesting ${database} failed: ${res.status} ${await res.text()}`,
    );
  }
}

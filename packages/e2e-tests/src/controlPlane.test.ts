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
import { APIResponse, Browser, Page } from 'playwright-core';
import { ensureAppBuilt } from './__testUtils__/app';
import {
  exampleConfig as exampleConfigIn,
  guestToken,
  RunningBackend,
  startBackend,
} from './__testUtils__/backend';
import { launchChromium, signIn } from './__testUtils__/browser';
import { repoRoot } from './__testUtils__/paths';

const screenshots = process.env.IDP_E2E_SCREENSHOTS === '1';
const screenshotDir = join(repoRoot, 'docs/screenshots');

// Every wait below is bounded; these are the outer limits of each step on a busy 2-core machine.
const STEP = 60_000;
const READY_WITHIN = 120_000;
// How long the simulator keeps the database PROVISIONING: long enough to open the
// Infrastructure tab while it is, on a busy machine.
const PROVISIONING_TIME = '25s';

// What the test requests, and where it expects to see it.
const component = 'checkout';
// Each run has its own data directory, so the name is free.
const database = 'orders-db';
const databaseRef = `resource:default/${database}`;

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

/** GET on the backend's API with a fresh guest token; undefined on 404. */
async function apiGet(backend: RunningBackend, path: string): Promise<any> {
  const res = await fetch(`${backend.baseUrl}/api/${path}`, {
    headers: { Authorization: `Bearer ${await guestToken(backend.baseUrl)}` },
  });
  if (res.status === 404) return undefined;
  if (!res.ok)
    throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

/** Waits until `check` holds, polling; fails with `what` and the backend's log. */
async function until<T>(
  backend: RunningBackend,
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = STEP,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) {
      throw new Error(
        `timed out waiting for ${what}\nbackend log:\n${backend.logTail()}`,
      );
    }
    await new Promise(r => setTimeout(r, 500));
  }
}

/**
 * A signed-in page. The sign-in waits until the catalog holds the example organization and
 * the MySQL template: a guest token issued before carries no group, and the control plane's
 * permission policy gives a user without one no role.
 */
async function signedIn(backend: RunningBackend): Promise<Page> {
  for (const entity of [
    'group/default/payments',
    'group/default/platform',
    `component/default/${component}`,
    'template/default/new-mysql-database',
  ]) {
    await until(backend, `${entity} in the catalog`, () =>
      apiGet(backend, `catalog/entities/by-name/${entity}`),
    );
  }
  // A context of its own, which a second tab of the same session can share.
  const context = await browser.newContext({
    viewport: { width: 1440, height: 900 },
  });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP);
  await page.goto(backend.baseUrl);
  await signIn(page);
  return page;
}

async function screenshot(page: Page, name: string) {
  if (!screenshots) return;
  mkdirSync(screenshotDir, { recursive: true });
  await page.screenshot({ path: join(screenshotDir, name), fullPage: true });
}

/** The resources table of the component's Infrastructure tab, opened like a user does. */
async function openInfrastructureTab(page: Page) {
  await page
    .getByRole('navigation', { name: 'sidebar nav' })
    .getByRole('link', { name: 'Catalog', exact: true })
    .click();
  await page.getByRole('link', { name: component, exact: true }).click();
  await page.getByRole('link', { name: 'Infrastructure', exact: true }).click();
  return page.getByRole('table', { name: `Resources of ${component}` });
}

/** Picks `option` in one of the scaffolder form's autocomplete pickers (EntityPicker, ...). */
async function pick(page: Page, field: string, option: string) {
  const input = page.getByRole('textbox', { name: field, exact: true });
  await input.click();
  await input.fill(option);
  await page.getByRole('option', { name: option, exact: true }).click();
}

/** Picks `option` in one of the scaffolder form's selects. */
async function select(page: Page, field: string, option: RegExp) {
  await page.getByRole('button', { name: new RegExp(`^${field} `) }).click();
  await page.getByRole('option', { name: option }).click();
}

describe('the example app, as a guest in the payments and platform groups', () => {
  let backend: RunningBackend;
  let page: Page;

  beforeAll(async () => {
    backend = await startBackend({
      workDir,
      name: 'guest',
      config: exampleConfig({
        controlPlane: {
          dataDir: join(workDir, 'control-plane'),
          simulator: { provisioningTime: PROVISIONING_TIME },
        },
      }),
    });
    page = await signedIn(backend);
  }, 240_000);

  afterAll(async () => {
    await page?.context().close();
    await backend?.stop();
  });

  it('requests a MySQL from the Self-service page through its template, and sees it become READY live on the Infrastructure tab', async () => {
    // Self-service: MySQL, at tier high, "Request".
    await page.getByRole('link', { name: 'Self-service', exact: true }).click();
    await page.getByRole('heading', { name: 'Tiers' }).waitFor();
    await page.getByRole('heading', { name: 'MySQL', exact: true }).waitFor();
    await page
      .getByRole('combobox', { name: 'Tier of MySQL' })
      .selectOption('high');
    const request = page.getByRole('link', { name: 'Request MySQL' });
    // The link is the catalog's template for MySQL, prefilled with the tier chosen.
    const href = new URL(
      (await request.getAttribute('href'))!,
      backend.baseUrl,
    );
    expect(href.pathname).toBe('/create/templates/default/new-mysql-database');
    expect(JSON.parse(href.searchParams.get('formData')!)).toEqual({
      tier: 'high',
    });
    await screenshot(page, 'self-service.png');
    await request.click();

    // The scaffolder's form of "New MySQL database".
    await page
      .getByRole('heading', { name: 'New MySQL database', level: 2 })
      .waitFor();
    await page.getByRole('textbox', { name: 'Name' }).fill(database);
    await pick(page, 'Component', component);
    await pick(page, 'Owner', 'payments');
    await page.getByRole('button', { name: 'Next' }).click();
    // The tier came from the Self-service page.
    await page.getByRole('button', { name: /^Tier High/ }).waitFor();
    await select(page, 'Cell', /^United States$/);
    await select(page, 'Size', /^Small/);
    await screenshot(page, 'scaffolder-form.png');
    await page.getByRole('button', { name: 'Review' }).click();
    const review = page.getByRole('table');
    for (const [field, value] of [
      ['Name', database],
      ['Component', `component:default/${component}`],
      ['Owner', 'group:default/payments'],
      ['Tier', 'High (99.95%, backups, encryption)'],
      ['Cell', 'United States'],
    ]) {
      await review.getByRole('row', { name: `${field} ${value}` }).waitFor();
    }
    await page.getByRole('button', { name: 'Create' }).click();
    await page.waitForURL(/\/create\/tasks\//);

    // Meanwhile, in another tab: the component's Infrastructure tab, opened while the
    // database is still being provisioned.
    await until(backend, `${databaseRef} to be created`, () =>
      apiGet(backend, `control-plane/resources/default/${database}`),
    );
    const watcher = await page.context().newPage();
    watcher.setDefaultTimeout(STEP);
    const documents: string[] = [];
    const streams: string[] = [];
    watcher.on('request', r => {
      if (r.resourceType() === 'document') documents.push(r.url());
      if (r.url().endsWith(`/resources/default/${database}/events`)) {
        streams.push(r.url());
      }
    });
    await watcher.goto(backend.baseUrl);
    await signIn(watcher);
    // From its first answer on, the tab's listing of resources is frozen: any reload of it
    // gets that first answer again. Only the event stream can tell the page what follows.
    let listing: { response: APIResponse; body: Buffer } | undefined;
    await watcher.route(/\/api\/control-plane\/resources\?/, async route => {
      if (!listing) {
        const response = await route.fetch();
        listing = { response, body: await response.body() };
      }
      await route.fulfill(listing);
    });
    const table = await openInfrastructureTab(watcher);
    const row = table.getByRole('row', { name: database });
    await row
      .getByLabel(/^State: (PENDING|PROVISIONING)$/)
      .waitFor()
      .catch(async e => {
        throw new Error(
          `${database} was not in flight when its Infrastructure tab opened (${await row
            .innerText()
            .catch(() => 'no row')}): ${e}`,
        );
      });
    const documentsBefore = documents.length;
    // Its details load while it is in flight.
    await watcher.getByText(/^Placed on /).waitFor();
    await watcher.getByRole('table', { name: 'Operations' }).waitFor();
    await watcher.getByRole('table', { name: 'History' }).waitFor();
    await watcher.getByText(/^This month so far/).waitFor();
    await screenshot(watcher, 'infrastructure-tab-provisioning.png');

    // It becomes READY on the page as it is, told by the resource's event stream.
    await row
      .getByLabel('State: READY')
      .waitFor({ timeout: READY_WITHIN })
      .catch(async e => {
        throw new Error(
          `${database} did not become READY: ${e}\nbackend log:\n${backend.logTail()}`,
        );
      });
    expect(JSON.parse(listing!.body.toString()).items).toContainEqual(
      expect.objectContaining({
        ref: databaseRef,
        status: expect.objectContaining({
          state: expect.stringMatching(/^(PENDING|PROVISIONING)$/),
        }),
      }),
    );
    expect(documents.slice(documentsBefore)).toEqual([]);
    expect(streams.length).toBeGreaterThan(0);
    await watcher.close();

    // The task ends once the database is READY, and says where it runs.
    await page
      .getByRole('heading', { name: 'Your database' })
      .waitFor({ timeout: READY_WITHIN });
    await page.getByText(`${databaseRef}`, { exact: true }).waitFor();
    await screenshot(page, 'scaffolder-task.png');

    // Its link leads to the component; the Infrastructure tab shows the database.
    await page
      .getByRole('link', { name: "The component's infrastructure" })
      .click();
    await page
      .getByRole('link', { name: 'Infrastructure', exact: true })
      .click();
    const ready = page
      .getByRole('table', { name: `Resources of ${component}` })
      .getByRole('row', { name: database });
    await ready.getByLabel('State: READY').waitFor();
    // Its provider is marked simulated once the fleet has loaded.
    await ready.getByText('simulated: not a real cloud').waitFor();
    const cells = await ready.getByRole('cell').allInnerTexts();
    expect(cells.slice(1, 4)).toEqual(['mysql', 'high', 'cell-us']);
    // Provider / cluster, e.g. "gcp / gcp-us-central1", and that the provider is simulated.
    const [placement, note] = cells[4].split('\n');
    placedOn = placement.split(' / ')[1];
    expect(placedOn).toMatch(/^[a-z]+-[a-z0-9-]+$/);
    expect(note).toBe('simulated: not a real cloud');

    // Its details: where it was placed, how it was created, and what its owner may do.
    await ready.getByRole('button', { name: `Show ${database}` }).click();
    await page.getByRole('heading', { name: 'Placement' }).waitFor();
    await page.getByRole('heading', { name: 'Operations' }).waitFor();
    await page.getByRole('heading', { name: 'State history' }).waitFor();
    // The guest is in payments, which owns it: the guest may delete it.
    await page.getByRole('button', { name: 'Delete', exact: true }).waitFor();
    await page.getByRole('button', { name: 'Run operation' }).waitFor();
    await screenshot(page, 'infrastructure-tab.png');
  }, 420_000);

  it('verifies the audit chain on the Audit page', async () => {
    await page.getByRole('link', { name: 'Audit', exact: true }).click();
    // The request the template made is in the log.
    await page.getByText(databaseRef).first().waitFor();
    await page.getByRole('button', { name: 'Verify chain' }).click();
    const verdict = page
      .getByRole('status')
      .getByText(/^The chain is intact: \d+ events checked$/);
    await verdict.waitFor();
    const checked = Number(/(\d+) events/.exec(await verdict.innerText())![1]);
    expect(checked).toBeGreaterThan(0);
    await screenshot(page, 'audit.png');
  }, 120_000);

  it('shows the fleet, saying that its providers are simulated, and the control plane', async () => {
    await page.getByRole('link', { name: 'Fleet', exact: true }).click();
    for (const section of ['Providers', 'Cells', 'Clusters']) {
      await page.getByRole('heading', { name: section }).waitFor();
    }
    await page
      .getByRole('note', { name: 'Simulated providers' })
      .getByText(/are simulated$/)
      .waitFor();
    // The cluster the database was placed on, among the fleet's, counts it.
    const clusters = page.getByRole('table', { name: 'Clusters' });
    const used = clusters.getByRole('row', { name: placedOn, exact: true });
    await used.waitFor();
    expect(await used.getByRole('cell').nth(7).innerText()).toMatch(
      /^1 of \d+$/,
    );
    expect(await clusters.getByRole('row').count()).toBeGreaterThan(2);
    await screenshot(page, 'fleet.png');

    await page
      .getByRole('navigation', { name: 'sidebar nav' })
      .getByRole('link', { name: 'Control Plane', exact: true })
      .click();
    await page.getByText('The control plane is up').waitFor();
    await page
      .getByRole('note', { name: 'Simulated providers' })
      .getByText('aws, azure, gcp and oci are simulated')
      .waitFor();
    await screenshot(page, 'control-plane-page.png');
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
  }, 240_000);

  afterAll(async () => {
    await page?.context().close();
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

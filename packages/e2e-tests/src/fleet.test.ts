/*
 * The Fleet page in a real headless Chromium against the example app, with clusters managed
 * by the control plane on the simulator: created through the API in cell-eu, one upgraded
 * 1.30 → 1.31 while the page shows its steps, one waiting for its maintenance window (three days away), one
 * drained and returned to service from the page by a platform engineer.
 *
 * IDP_E2E_SCREENSHOTS=1 writes docs/screenshots/fleet-upgrading.png (the upgrade under way)
 * and fleet-lifecycle.png (after it, with the window, the health trend and the actions).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Browser, Page } from 'playwright-core';
import { ensureAppBuilt } from './__testUtils__/app';
import {
  exampleConfig,
  guestToken,
  RunningBackend,
  startBackend,
} from './__testUtils__/backend';
import { launchChromium, signIn } from './__testUtils__/browser';
import { repoRoot } from './__testUtils__/paths';

const screenshotDir = join(repoRoot, 'docs/screenshots');
// The outer limit of each wait on a busy 2-core machine.
const STEP = 90_000;

const workDir = mkdtempSync(join(tmpdir(), 'idp-e2e-fleet-'));
let browser: Browser;
let backend: RunningBackend;
let page: Page;

/** A call to the control plane's API as the guest (payments and platform). */
async function controlPlane(
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
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

/** Polls `check` until it gives something; fails with `what` and the backend's log. */
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
        `timed out waiting for ${what}\nbackend log:\n${backend.logTail()}`,
      );
    }
    await new Promise(r => setTimeout(r, 500));
  }
}

/** Waits until a cluster's operation ended; its final state. */
const ended = (cluster: string, id: string) =>
  eventually(`operation ${id} of ${cluster}`, async () => {
    const op = await controlPlane(
      'GET',
      `clusters/${cluster}/operations/${id}`,
    );
    return ['succeeded', 'compensated', 'failed'].includes(op.state)
      ? (op.state as string)
      : undefined;
  });

async function screenshot(file: string) {
  if (process.env.IDP_E2E_SCREENSHOTS !== '1') return;
  mkdirSync(screenshotDir, { recursive: true });
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.mouse.move(1800, 500);
  await page.waitForTimeout(500);
  await page.screenshot({ path: join(screenshotDir, file), fullPage: true });
}

// A window that opens three days from now, at 02:00 in Paris: closed whenever the test runs,
// so that neither a waiting upgrade nor channel automation starts during it.
const later = new Date(Date.now() + 3 * 24 * 3600_000);
const laterDay = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Europe/Paris',
  weekday: 'short',
}).format(later);
const closedWindow = {
  days: [laterDay.toLowerCase()],
  start: '02:00',
  durationMinutes: 240,
  timeZone: 'Europe/Paris',
};

/** Creates a cluster in cell-eu on the simulator and waits until it is Ready. */
async function createCluster(name: string, provider: string, extra = {}) {
  const accepted = await controlPlane('POST', 'clusters', {
    name,
    cell: 'cell-eu',
    provider,
    region: 'europe-west1',
    zones: ['europe-west1-b', 'europe-west1-c'],
    version: '1.30',
    nodePools: [
      { name: 'system', machineType: 'standard-4', count: 1 },
      { name: 'general', machineType: 'standard-8', count: 3, min: 1, max: 6 },
    ],
    ...extra,
  });
  expect(await ended(name, accepted.operation.id)).toBe('succeeded');
}

beforeAll(async () => {
  ensureAppBuilt();
  browser = await launchChromium();
  backend = await startBackend({
    workDir,
    name: 'fleet',
    config: exampleConfig(workDir, {
      controlPlane: {
        dataDir: join(workDir, 'control-plane'),
        simulator: {
          provisioningTime: '2s',
          // long enough to watch an upgrade's steps on the page
          clusters: { createMs: 1500, upgradeMs: 8000, scaleMs: 1000 },
        },
      },
    }),
  });
  // The example organization, so that the guest's token carries its groups.
  await eventually('group platform in the catalog', async () => {
    const res = await fetch(
      `${backend.baseUrl}/api/catalog/entities/by-name/group/default/platform`,
      {
        headers: {
          Authorization: `Bearer ${await guestToken(backend.baseUrl)}`,
        },
      },
    );
    return res.ok;
  });
  const context = await browser.newContext({
    // the clusters table is wide
    viewport: { width: 1920, height: 1080 },
  });
  page = await context.newPage();
  page.setDefaultTimeout(STEP);
  await page.goto(backend.baseUrl);
  await signIn(page);
}, 600_000);

afterAll(async () => {
  await page?.context().close();
  await browser?.close();
  await backend?.stop();
  rmSync(workDir, { recursive: true, force: true });
});

it('shows managed clusters by cell and provider, an upgrade step by step, the next window and the health trend, and returns a drained cluster to service', async () => {
  await createCluster('eu-lab', 'gcp', {
    channel: 'stable',
    maintenanceWindow: closedWindow,
  });
  await createCluster('eu-edge', 'aws', {
    channel: 'stable',
    maintenanceWindow: closedWindow,
  });
  await createCluster('eu-spare', 'azure');
  // two observation passes: two health samples, a trend
  await controlPlane('POST', 'clusters/automation/run', {});
  await new Promise(r => setTimeout(r, 1000));
  await controlPlane('POST', 'clusters/automation/run', {});

  // eu-spare is drained (nothing runs there), eu-edge's upgrade waits for its window
  const drain = await controlPlane('POST', 'clusters/eu-spare/drain', {});
  expect(await ended('eu-spare', drain.operation.id)).toBe('succeeded');
  const waiting = await controlPlane('PATCH', 'clusters/eu-edge', {
    version: '1.31',
    when: 'window',
  });
  expect(waiting.operation.state).toBe('pending');
  expect(waiting.operation.params.notBefore).toEqual(expect.any(String));

  // eu-lab upgrades now, control plane first, then each pool
  const upgrade = await controlPlane('PATCH', 'clusters/eu-lab', {
    version: '1.31',
  });
  await page
    .getByRole('navigation', { name: 'sidebar nav' })
    .getByRole('link', { name: 'Fleet', exact: true })
    .click();
  const clusters = page.getByRole('table', { name: 'Clusters' });
  const lab = clusters.getByRole('row', { name: 'eu-lab', exact: true });
  await lab.getByText('upgrade (running)').waitFor();
  const steps = lab.getByRole('list', { name: 'Steps of upgrade of eu-lab' });
  await steps.getByText('✓ preflight').waitFor();
  expect(await steps.getByRole('listitem').allInnerTexts()).toEqual([
    '✓ preflight',
    expect.stringMatching(/^[…✓] upgrade_control_plane$/),
    expect.stringMatching(/^[·…✓] upgrade_pool:system$/),
    expect.stringMatching(/^[·…✓] upgrade_pool:general$/),
    expect.stringMatching(/^[·…✓] verify$/),
  ]);
  await lab.getByLabel('State: Upgrading').waitFor();
  await screenshot('fleet-upgrading.png');

  expect(await ended('eu-lab', upgrade.operation.id)).toBe('succeeded');
  await page.reload();
  await lab.getByLabel('State: Ready').waitFor();
  expect(await lab.getByRole('cell').nth(5).innerText()).toBe('1.31');
  expect(await lab.getByText('4 of 4 nodes ready').count()).toBe(1);
  // the channel, its window and when it next opens, in the window's time zone
  await lab
    .getByText(`window ${laterDay.toLowerCase()} 02:00 for 4 h (Europe/Paris)`)
    .waitFor();
  await lab
    .getByText(new RegExp(`^next: ${laterDay} \\d{1,2} \\w{3}, 02:00$`))
    .waitFor();
  // the health score and its trend
  await lab.getByLabel('Health score of eu-lab').waitFor();
  await lab
    .getByRole('img', { name: /^Health of eu-lab over 24 hours: \d+ to \d+$/ })
    .waitFor();

  const edge = clusters.getByRole('row', { name: 'eu-edge', exact: true });
  await edge.getByText('upgrade (pending)').waitFor();
  await edge
    .getByText(
      new RegExp(`^waits for its window: ${laterDay} \\d{1,2} \\w{3}, 02:00$`),
    )
    .waitFor();
  await edge.getByLabel('State: Ready').waitFor();

  // clusters by cell, then provider
  const order = (await clusters.getByRole('row').allInnerTexts())
    .map(text => text.split(/\s/)[0])
    .filter(id => ['eu-lab', 'eu-edge', 'eu-spare'].includes(id));
  expect(order).toEqual(['eu-edge', 'eu-spare', 'eu-lab']);

  // the drained cluster, returned to service from the page
  const spare = clusters.getByRole('row', { name: 'eu-spare', exact: true });
  await spare.getByLabel('State: Draining').waitFor();
  // drained already: no second drain
  expect(await spare.getByRole('button', { name: 'Drain' }).count()).toBe(0);
  await screenshot('fleet-lifecycle.png');
  await spare.getByRole('button', { name: 'Return to service' }).click();
  const dialog = page.getByRole('dialog', {
    name: 'Return eu-spare to service?',
  });
  await dialog.getByRole('button', { name: 'Return to service' }).click();
  await page.getByText('eu-spare is back in service').waitFor();
  await spare.getByLabel('State: Ready').waitFor();
  const after = await controlPlane('GET', 'clusters/eu-spare');
  expect(after.observed.phase).toBe('Ready');
}, 300_000);

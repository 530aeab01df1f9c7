import { existsSync } from 'node:fs';
import { Browser, chromium, Page } from 'playwright-core';

/**
 * Debian's Chromium; never a browser downloaded by Playwright. IDP_E2E_CHROMIUM overrides it.
 */
export const chromiumPath = process.env.IDP_E2E_CHROMIUM ?? '/usr/bin/chromium';

/** Launches a headless Chromium, or fails saying how to install it. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(chromiumPath)) {
    throw new Error(
      `Chromium is not installed at ${chromiumPath}: the end-to-end tests need it. ` +
        'Install it with `apt-get install -y chromium`, or set IDP_E2E_CHROMIUM to its path.',
    );
  }
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
}

/**
 * Signs the page in as the guest: "Enter" on the sign-in page, or nothing when the app signed
 * it in by itself (a second page of a signed-in session). Resolves once the sidebar shows.
 */
export async function signIn(page: Page): Promise<void> {
  const enter = page.getByRole('button', { name: 'Enter' });
  // The sidebar's own box has no size (its content is positioned): wait for its links.
  const catalog = page
    .getByRole('navigation', { name: 'sidebar nav' })
    .getByRole('link', { name: 'Catalog', exact: true });
  await enter.or(catalog).first().waitFor();
  if (await enter.isVisible()) {
    await enter.click();
  }
  await catalog.waitFor();
}

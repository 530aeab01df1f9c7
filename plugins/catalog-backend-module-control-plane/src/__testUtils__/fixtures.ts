/** What the tests ask the control plane for: a webapp serving a component, and its database. */
export const resources = {
  ordersDb: {
    name: 'orders-db',
    product: 'mysql',
    owner: 'group:default/payments',
    tier: 'high',
    cell: 'cell-us',
  },
  checkout: {
    name: 'checkout',
    product: 'webapp',
    owner: 'group:default/payments',
    component: 'component:default/checkout',
    tier: 'high',
    cell: 'cell-us',
    params: { image: 'ghcr.io/acme/checkout', version: '2.1.0' },
    dependsOn: ['orders-db'],
  },
};

/** The control plane's config: its files in `dataDir`, operations run by a fast simulator. */
export const controlPlaneConfig = (dataDir: string) => ({
  dataDir,
  orchestration: {
    pollInterval: { milliseconds: 20 },
    readyPollInterval: { milliseconds: 10 },
  },
  simulator: {
    provisioningTime: { milliseconds: 30 },
    deprovisioningTime: { milliseconds: 10 },
    latency: { default: 0 },
  },
});

/** Polls `check` until it returns something other than undefined. */
export async function waitFor<T>(
  check: () => Promise<T | undefined>,
  what: string,
  timeoutMs = 45_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise(r => setTimeout(r, 50));
  }
}

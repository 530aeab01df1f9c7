import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import App from './App';
import appPackage from '../package.json';

/**
 * What `app.packages: all` makes the build give the app: the default exports of the frontend
 * plugins and modules among its dependencies (and of their `/alpha` entry points), as
 * @backstage/cli's package detection writes them to `window['__@backstage/discovered__']`.
 */
function discoverPackages() {
  const modules = Object.keys(appPackage.dependencies).flatMap(name => {
    const pkg = require(`${name}/package.json`);
    if (
      !['frontend-plugin', 'frontend-plugin-module'].includes(
        pkg.backstage?.role,
      )
    ) {
      return [];
    }
    const found = [{ name, default: require(name).default }];
    if (
      pkg.exports &&
      typeof pkg.exports === 'object' &&
      './alpha' in pkg.exports
    ) {
      found.push({ name, default: require(`${name}/alpha`).default });
    }
    return found;
  });
  (window as any)['__@backstage/discovered__'] = { modules };
}

/** A token the frontend can read its expiry from (it does not check signatures). */
const guestToken = [
  { alg: 'none' },
  { sub: 'user:default/guest', exp: Math.floor(Date.now() / 1000) + 3600 },
]
  .map(part => Buffer.from(JSON.stringify(part)).toString('base64url'))
  .concat('signature')
  .join('.');

const backend = setupServer(
  http.get('*/api/auth/guest/refresh', () =>
    HttpResponse.json({
      profile: { displayName: 'Guest' },
      backstageIdentity: {
        token: guestToken,
        identity: {
          type: 'user',
          userEntityRef: 'user:default/guest',
          ownershipEntityRefs: ['user:default/guest'],
        },
      },
    }),
  ),
  http.get('*/api/control-plane/health', () =>
    HttpResponse.json({
      status: 'ok',
      database: {
        client: 'better-sqlite3',
        migrations: {
          applied: ['202611231930_createResources.js'],
          pending: [],
        },
      },
    }),
  ),
);

describe('App', () => {
  beforeAll(() => backend.listen({ onUnhandledRequest: 'bypass' }));
  afterAll(() => backend.close());

  it('signs a guest in and leads from the sidebar to the control plane', async () => {
    process.env = {
      NODE_ENV: 'test',
      APP_CONFIG: [
        {
          data: {
            app: {
              title: 'Test',
              packages: 'all',
              signIn: { providers: ['guest'] },
            },
            backend: { baseUrl: 'http://localhost:7007' },
          },
          context: 'test',
        },
      ] as any,
    };
    discoverPackages();
    render(App.createRoot());

    await userEvent.click(
      await screen.findByRole('button', { name: 'Enter' }, { timeout: 10_000 }),
    );
    const nav = await screen.findByRole(
      'navigation',
      { name: 'sidebar nav' },
      { timeout: 10_000 },
    );
    for (const page of [
      'Catalog',
      'Self-service',
      'Fleet',
      'Audit',
      'Create',
    ]) {
      expect(within(nav).getByRole('link', { name: page })).toBeInTheDocument();
    }
    await userEvent.click(
      within(nav).getByRole('link', { name: 'Control Plane' }),
    );
    expect(
      await screen.findByText(
        'The control plane is up',
        {},
        { timeout: 10_000 },
      ),
    ).toBeInTheDocument();
    expect(screen.getByText('better-sqlite3')).toBeInTheDocument();
    const controlPlane = within(nav).getByRole('link', {
      name: 'Control Plane',
    });
    expect(controlPlane).toHaveAttribute('aria-current', 'page');
    // On a page below it, only that page's entry is highlighted.
    await userEvent.click(within(nav).getByRole('link', { name: 'Fleet' }));
    expect(within(nav).getByRole('link', { name: 'Fleet' })).toHaveAttribute(
      'aria-current',
      'page',
    );
    expect(controlPlane).not.toHaveAttribute('aria-current');
  }, 60_000);
});

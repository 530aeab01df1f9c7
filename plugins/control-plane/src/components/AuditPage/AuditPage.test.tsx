import '@testing-library/jest-dom';
import {
  registerMswTestHooks,
  renderInTestApp,
} from '@backstage/frontend-test-utils';
import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { Schemas } from '@idp-multicloud/sdk';
import { http } from 'msw';
import { setupServer } from 'msw/node';
import { controlPlanePlugin } from '../../plugin';
import { reply, replyError } from '../../__testUtils__/msw';
import { AuditPage } from './AuditPage';

const base = '*/api/control-plane';

const event = (
  id: number,
  actor: string,
  action: string,
): Schemas['AuditEvent'] => ({
  id,
  at: '2026-11-01T10:00:00.000Z',
  actor,
  action,
  target: 'resource:default/orders-db',
  outcome: 'accepted',
  approvers: [],
  source: { ip: '10.0.0.1' },
  hash: `h${id}`,
  prevHash: `h${id - 1}`,
});

describe('AuditPage', () => {
  const server = setupServer();
  registerMswTestHooks(server);
  let queries: URLSearchParams[];

  beforeEach(() => {
    queries = [];
    server.use(
      http.get(`${base}/audit`, ({ request }) => {
        const q = new URL(request.url).searchParams;
        queries.push(q);
        const all = [
          event(2, 'user:default/bob', 'resource.delete'),
          event(1, 'user:default/alice', 'resource.create'),
        ];
        return reply('AuditPage', {
          items: q.get('actor')
            ? all.filter(e => e.actor === q.get('actor'))
            : all,
        });
      }),
    );
  });

  it('lists the audit log and filters it', async () => {
    renderInTestApp(<AuditPage />, { features: [controlPlanePlugin] });
    const table = await screen.findByRole('table', { name: 'Audit events' });
    expect(within(table).getByText('user:default/bob')).toBeInTheDocument();
    expect(within(table).getByText('user:default/alice')).toBeInTheDocument();

    await userEvent.type(screen.getByLabelText('Actor'), 'user:default/alice');
    await userEvent.click(
      screen.getByRole('button', { name: 'Apply filters' }),
    );
    await screen.findByText('resource.create');
    expect(screen.queryByText('user:default/bob')).not.toBeInTheDocument();
    expect(queries.at(-1)?.get('actor')).toBe('user:default/alice');
  });

  it('marks what a hand push claims as unverified', async () => {
    server.use(
      http.get(`${base}/audit`, () =>
        reply('AuditPage', {
          items: [
            {
              ...event(3, 'git:Mallory <m@example.com>', 'state-repo.sync'),
              verified: false,
            },
            {
              ...event(2, 'user:default/bob', 'resource.delete'),
              verified: true,
            },
          ],
        }),
      ),
    );
    renderInTestApp(<AuditPage />, { features: [controlPlanePlugin] });
    const table = await screen.findByRole('table', { name: 'Audit events' });
    expect(
      within(table).getByText('git:Mallory <m@example.com> (unverified)'),
    ).toBeInTheDocument();
    expect(within(table).getByText('user:default/bob')).toBeInTheDocument();
  });

  it('says when no event matches the filters', async () => {
    renderInTestApp(<AuditPage />, { features: [controlPlanePlugin] });
    await screen.findByRole('table', { name: 'Audit events' });
    await userEvent.type(screen.getByLabelText('Actor'), 'user:default/nobody');
    await userEvent.click(
      screen.getByRole('button', { name: 'Apply filters' }),
    );
    expect(
      await screen.findByText('No event matches these filters'),
    ).toBeInTheDocument();
  });

  it('verifies the chain and says it is intact', async () => {
    server.use(
      http.get(`${base}/audit/verify`, () =>
        reply('AuditVerification', { valid: true, checked: 2 }),
      ),
    );
    renderInTestApp(<AuditPage />, { features: [controlPlanePlugin] });
    await userEvent.click(
      await screen.findByRole('button', { name: 'Verify chain' }),
    );
    expect(
      await screen.findByText('The chain is intact: 2 events checked'),
    ).toBeInTheDocument();
  });

  it('names the first broken event when the chain was tampered with', async () => {
    server.use(
      http.get(`${base}/audit/verify`, () =>
        reply('AuditVerification', {
          valid: false,
          checked: 2,
          firstBroken: { id: 2, reason: 'hash does not match its content' },
        }),
      ),
    );
    renderInTestApp(<AuditPage />, { features: [controlPlanePlugin] });
    await userEvent.click(
      await screen.findByRole('button', { name: 'Verify chain' }),
    );
    expect(
      await screen.findByText('The chain is broken at event 2'),
    ).toBeInTheDocument();
    expect(
      screen.getByText(/hash does not match its content/),
    ).toBeInTheDocument();
  });

  it('shows why the log cannot be read', async () => {
    server.use(
      http.get(`${base}/audit`, () =>
        replyError(403, 'NotAllowedError', 'audit.read denied'),
      ),
    );
    renderInTestApp(<AuditPage />, { features: [controlPlanePlugin] });
    expect(
      await screen.findByText(/Could not load the audit log/),
    ).toBeInTheDocument();
  });
});

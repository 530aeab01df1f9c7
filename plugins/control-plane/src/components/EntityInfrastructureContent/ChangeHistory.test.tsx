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

jest.setTimeout(30_000);

type Change = Schemas['Change'];

const change = (
  sha: string,
  action: 'create' | 'update',
  subject: string,
  verified = true,
): Change => ({
  sha: sha.repeat(40 / sha.length),
  subject,
  actor: verified ? 'user:default/alice' : 'git:Bob <bob@example.com>',
  verified,
  date: '2026-12-01T10:00:00.000Z',
  objects: [{ kind: 'Resource', ref: 'resource:default/orders-db', action }],
});

/** Newest first, as `GET /changes` lists them: version 3, 2, 1 (created). */
const history = [
  change('c3', 'update', 'update resource:default/orders-db (size)', false),
  change('b2', 'update', 'update resource:default/orders-db (tier)'),
  change('a1', 'create', 'create resource:default/orders-db'),
];

describe('EntityInfrastructureContent: changes in Git', () => {
  const server = setupServer();
  registerMswTestHooks(server);
  const { backend } = infrastructureBackend(server);

  /** orders-db with its history; reverts answer with `answer(sha)`. */
  function withHistory(
    answer: (sha: string) => Response = sha =>
      reply('ChangeRevert', {
        reverted: sha,
        commit: 'f'.repeat(40),
        objects: [
          {
            kind: 'Resource',
            ref: 'resource:default/orders-db',
            action: 'update',
          },
        ],
      }),
  ) {
    backend([resource('orders-db')]);
    const reverted: string[] = [];
    server.use(
      http.get(`${base}/changes`, () =>
        reply('ChangeList', { items: history }),
      ),
      http.post(`${base}/changes/:sha/revert`, ({ params }) => {
        reverted.push(String(params.sha).slice(0, 2));
        return answer(String(params.sha));
      }),
    );
    return reverted;
  }

  it('lists the changes as versions and rolls back to one, reverting later changes newest first', async () => {
    const reverted = withHistory();
    render();
    const table = await screen.findByRole('table', { name: 'Changes in Git' });
    const newest = within(table).getByRole('row', { name: /version 3/ });
    expect(
      within(newest).getByText('git:Bob <bob@example.com> (unverified)'),
    ).toBeInTheDocument();
    // the newest version is the current one: nothing to roll back to
    expect(
      within(newest).queryByRole('button', { name: /Roll back/ }),
    ).not.toBeInTheDocument();
    const first = within(table).getByRole('row', { name: /version 1/ });
    await userEvent.click(
      within(first).getByRole('button', {
        name: `Roll back to ${'a1'.repeat(6)}`,
      }),
    );
    const dialog = await screen.findByRole('dialog');
    expect(
      within(dialog).getByText('Roll orders-db back to version 1?'),
    ).toBeInTheDocument();
    expect(reverted).toEqual([]);
    await userEvent.click(
      within(dialog).getByRole('button', { name: 'Roll back' }),
    );
    expect(
      await screen.findByText(
        `orders-db rolled back to ${'a1'.repeat(6)} (2 changes reverted)`,
      ),
    ).toBeInTheDocument();
    expect(reverted).toEqual(['c3', 'b2']);
  });

  it('shows the pull request when the revert needs review', async () => {
    const proposal: Schemas['ChangeProposal'] = {
      id: '6f1c2a90-2b1e-4c55-9d7e-0a3e1c7d9b12',
      actor: 'user:default/guest',
      title: 'Revert "update resource:default/orders-db (size)"',
      status: 'awaiting-approval',
      branch: 'idp/change-6f1c2a90',
      commit: 'e'.repeat(40),
      pullRequest: { number: 7, url: 'https://github.test/acme/state/pull/7' },
      approvers: [],
      objects: [],
      plan: '',
      createdAt: '2026-12-07T10:00:00.000Z',
      updatedAt: '2026-12-07T10:00:00.000Z',
    };
    const reverted = withHistory(() =>
      reply('ReviewProposed', { proposal }, { status: 202 }),
    );
    render();
    const table = await screen.findByRole('table', { name: 'Changes in Git' });
    await userEvent.click(
      within(within(table).getByRole('row', { name: /version 1/ })).getByRole(
        'button',
        { name: /Roll back/ },
      ),
    );
    await userEvent.click(
      within(await screen.findByRole('dialog')).getByRole('button', {
        name: 'Roll back',
      }),
    );
    expect(
      await screen.findByText(
        'Needs review: the revert was proposed as pull request #7; 0 change(s) reverted before it',
      ),
    ).toBeInTheDocument();
    expect(screen.getByRole('link', { name: '#7' })).toHaveAttribute(
      'href',
      'https://github.test/acme/state/pull/7',
    );
    // the walk stops at the proposal: the older change waits for its merge
    expect(reverted).toEqual(['c3']);
  });

  it('offers no rollback to a user who may not update the resource', async () => {
    withHistory();
    render(component, name =>
      name === 'control-plane.resource.update'
        ? AuthorizeResult.DENY
        : AuthorizeResult.ALLOW,
    );
    const table = await screen.findByRole('table', { name: 'Changes in Git' });
    expect(within(table).getAllByRole('row')).toHaveLength(4);
    expect(
      within(table).queryByRole('button', { name: /Roll back/ }),
    ).not.toBeInTheDocument();
  });
});

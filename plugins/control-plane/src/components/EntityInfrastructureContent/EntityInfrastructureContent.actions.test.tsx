import '@testing-library/jest-dom';
import { registerMswTestHooks } from '@backstage/frontend-test-utils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { Operation, Resource } from '@idp-multicloud/sdk';
import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { http } from 'msw';
import { setupServer } from 'msw/node';
import { reply, replyError } from '../../__testUtils__/msw';
import { createOperation, resource } from '../../__testUtils__/fixtures';
import {
  base,
  component,
  infrastructureBackend,
  renderInfrastructure as render,
} from '../../__testUtils__/infrastructure';

describe('EntityInfrastructureContent: the actions on operations and failed resources', () => {
  const server = setupServer();
  registerMswTestHooks(server);
  const { backend } = infrastructureBackend(server);

  const running: Operation = {
    ...createOperation,
    id: '5c9b4a1e-0d7f-4c3e-9a62-1f0e8d7c6b01',
    state: 'running',
    steps: [],
    timeline: [],
  };
  const stuck: Operation = {
    ...createOperation,
    id: '7d2e6f3a-1b8c-4e5d-8f90-2a1b3c4d5e02',
    type: 'delete',
    state: 'needs-attention',
    error: 'deprovision failed: cluster unreachable',
    createdAt: '2026-11-02T09:00:00.000Z',
  };

  /** The backend with these operations; records the actions it is asked. */
  function withOperations(
    operations: Operation[],
    state: Resource['status']['state'] = 'READY',
  ) {
    backend([resource('orders-db', { state })]);
    const calls: string[] = [];
    server.use(
      http.get(`${base}/resources/:ns/:name/operations`, () =>
        reply('OperationList', { items: operations }),
      ),
      http.post(`${base}/operations/:id/cancel`, ({ params }) => {
        calls.push(`cancel ${params.id}`);
        return reply('Operation', {
          ...running,
          state: 'compensating',
          cancelRequested: true,
        });
      }),
      http.post(`${base}/operations/:id/retry`, ({ params }) => {
        calls.push(`retry ${params.id}`);
        return reply('Operation', { ...stuck, state: 'compensating' });
      }),
      http.post(`${base}/resources/:ns/:name/retry`, ({ params }) => {
        calls.push(`retry ${params.ns}/${params.name}`);
        return reply('Resource', resource('orders-db', { state: 'PENDING' }));
      }),
    );
    return calls;
  }

  const operationRow = async (type: string) =>
    within(await screen.findByRole('table', { name: 'Operations' })).findByRole(
      'row',
      { name: new RegExp(`^${type}`) },
    );

  it('cancels a running operation once confirmed, and shows the outcome', async () => {
    const calls = withOperations([running], 'PROVISIONING');
    render();
    await userEvent.click(
      within(await operationRow('create')).getByRole('button', {
        name: 'Cancel operation',
      }),
    );
    const dialog = await screen.findByRole('dialog');
    expect(
      within(dialog).getByText('Cancel the create operation?'),
    ).toBeInTheDocument();
    expect(
      within(dialog).getByText(/the steps it completed are undone/),
    ).toBeInTheDocument();
    expect(calls).toEqual([]);
    await userEvent.click(
      within(dialog).getByRole('button', { name: 'Cancel operation' }),
    );
    expect(
      await screen.findByText(
        'Cancellation of create requested (compensating)',
      ),
    ).toBeInTheDocument();
    expect(calls).toEqual([`cancel ${running.id}`]);
  });

  it("shows the server's refusal to cancel", async () => {
    withOperations([running], 'PROVISIONING');
    server.use(
      http.post(`${base}/operations/:id/cancel`, () =>
        replyError(409, 'ConflictError', 'the operation has finished'),
      ),
    );
    render();
    await userEvent.click(
      within(await operationRow('create')).getByRole('button', {
        name: 'Cancel operation',
      }),
    );
    await userEvent.click(
      within(await screen.findByRole('dialog')).getByRole('button', {
        name: 'Cancel operation',
      }),
    );
    expect(
      await screen.findByText(
        /Cancel the create operation\? failed: .*the operation has finished/,
      ),
    ).toBeInTheDocument();
  });

  it('retries a FAILED resource once confirmed, and shows its new state', async () => {
    const calls = withOperations([], 'FAILED');
    render();
    await userEvent.click(await screen.findByRole('button', { name: 'Retry' }));
    const dialog = await screen.findByRole('dialog');
    expect(within(dialog).getByText('Retry orders-db?')).toBeInTheDocument();
    expect(calls).toEqual([]);
    await userEvent.click(
      within(dialog).getByRole('button', { name: 'Retry' }),
    );
    expect(
      await screen.findByText('Retry of orders-db accepted: now PENDING'),
    ).toBeInTheDocument();
    expect(calls).toEqual(['retry default/orders-db']);
  });

  it('offers no Retry for a resource that has not failed', async () => {
    withOperations([], 'READY');
    render();
    await screen.findByRole('button', { name: 'Run operation' });
    expect(
      screen.queryByRole('button', { name: 'Retry' }),
    ).not.toBeInTheDocument();
  });

  it('retries the compensation of an operation that needs attention once confirmed', async () => {
    const calls = withOperations([stuck, createOperation]);
    render();
    const row = await operationRow('delete');
    expect(
      within(row).getByText('deprovision failed: cluster unreachable'),
    ).toBeInTheDocument();
    // The finished create offers nothing but its steps.
    expect(
      within(await operationRow('create')).queryAllByRole('button'),
    ).toHaveLength(1);
    await userEvent.click(
      within(row).getByRole('button', { name: 'Retry compensation' }),
    );
    const dialog = await screen.findByRole('dialog');
    expect(
      within(dialog).getByText('Retry the compensation of delete?'),
    ).toBeInTheDocument();
    await userEvent.click(
      within(dialog).getByRole('button', { name: 'Retry compensation' }),
    );
    expect(
      await screen.findByText('Retry of delete accepted (compensating)'),
    ).toBeInTheDocument();
    expect(calls).toEqual([`retry ${stuck.id}`]);
  });

  it('offers no Cancel, Retry or Retry compensation to a user who may not operate the resource', async () => {
    const calls = withOperations([running, stuck], 'FAILED');
    render(component, name =>
      name === 'control-plane.resource.operate'
        ? AuthorizeResult.DENY
        : AuthorizeResult.ALLOW,
    );
    // The permissions have been decided: delete is allowed.
    await screen.findByRole('button', { name: 'Delete' });
    await operationRow('delete');
    for (const name of ['Cancel operation', 'Retry', 'Retry compensation']) {
      expect(screen.queryByRole('button', { name })).not.toBeInTheDocument();
    }
    expect(screen.getAllByRole('button', { name: 'Show steps' })).toHaveLength(
      2,
    );
    expect(calls).toEqual([]);
  });
});

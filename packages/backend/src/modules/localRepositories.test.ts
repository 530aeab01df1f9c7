import { createMockDirectory } from '@backstage/backend-test-utils';
import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  createPublishLocalAction,
  createRegisterLocalAction,
} from './localRepositories';

describe('publish:local', () => {
  it('publishes the workspace as a repository, and commits again only when its files change', async () => {
    const repos = createMockDirectory();
    const workspace = createMockDirectory({
      content: {
        'catalog-info.yaml': 'kind: Component\n',
        'src/index.js': '1',
      },
    });
    const action = createPublishLocalAction(repos.path);
    const publish = async () => {
      const ctx = createMockActionContext({
        input: { repoName: 'orders' },
        workspacePath: workspace.path,
        user: { ref: 'user:default/ana' },
      });
      await action.handler(ctx);
      return Object.fromEntries((ctx.output as jest.Mock).mock.calls);
    };
    const repo = join(repos.path, 'orders');
    const log = () =>
      execFileSync('git', ['log', '--format=%an %s'], {
        cwd: repo,
        encoding: 'utf8',
      })
        .trim()
        .split('\n');

    expect(await publish()).toMatchObject({
      created: true,
      repoContentsPath: repo,
    });
    await publish();
    expect(log()).toHaveLength(1);
    expect(log()[0]).toMatch(/^user:default\/ana /);

    writeFileSync(join(workspace.path, 'src/index.js'), '2');
    expect(await publish()).toMatchObject({ created: false });
    expect(log()).toHaveLength(2);
    expect(readFileSync(join(repo, 'src/index.js'), 'utf8')).toBe('2');
  });
});

describe('catalog:register:local', () => {
  const catalog = { addLocation: jest.fn(), refreshEntity: jest.fn() };

  it('registers only catalog files of the local repositories', async () => {
    const repos = createMockDirectory({
      content: {
        'orders/catalog-info.yaml':
          'apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: orders\n',
      },
    });
    const elsewhere = createMockDirectory({
      content: { 'catalog-info.yaml': '' },
    });
    const action = createRegisterLocalAction(repos.path, catalog as any);

    await expect(
      action.handler(
        createMockActionContext({
          input: {
            repoContentsPath: elsewhere.path,
            catalogInfoPath: 'catalog-info.yaml',
          },
        }),
      ),
    ).rejects.toThrow(/is not a repository under/);
    expect(catalog.addLocation).not.toHaveBeenCalled();

    const ctx = createMockActionContext({
      input: {
        repoContentsPath: join(repos.path, 'orders'),
        catalogInfoPath: 'catalog-info.yaml',
      },
    });
    await action.handler(ctx);
    expect(catalog.addLocation).toHaveBeenCalledWith(
      { type: 'file', target: join(repos.path, 'orders/catalog-info.yaml') },
      expect.anything(),
    );
    expect(ctx.output).toHaveBeenCalledWith(
      'entityRef',
      'component:default/orders',
    );

    // Registered already (a template run again): the catalog is asked to refresh it instead.
    catalog.addLocation.mockRejectedValueOnce(
      Object.assign(new Error('Conflict'), { statusCode: 409 }),
    );
    await action.handler(
      createMockActionContext({
        input: {
          repoContentsPath: join(repos.path, 'orders'),
          catalogInfoPath: 'catalog-info.yaml',
        },
      }),
    );
    expect(catalog.refreshEntity).toHaveBeenCalledWith(
      'component:default/orders',
      expect.anything(),
    );
  });
});

import {
  createIdpClient,
  IdpClient,
  IdpNotFoundError,
} from '@idp-multicloud/sdk';
import {
  startTestControlPlane,
  TestControlPlane,
} from '@idp-multicloud/test-utils';
import { captureOutput, idpAgainst } from '../__testUtils__/output';
import { changesToRevert } from './rollback';

jest.setTimeout(120_000);

const change = (sha: string) => ({
  sha,
  subject: sha,
  actor: 'user:default/ana',
  verified: true,
  date: '2026-12-07T00:00:00Z',
  objects: [],
});

/** A redis of the payments team, small. */
const cache = (name: string) =>
  ({
    name,
    namespace: 'payments',
    product: 'redis',
    owner: 'group:default/payments',
    tier: 'medium',
    cell: 'cell-eu',
    params: { size: 'small' },
  } as any);

describe('changesToRevert', () => {
  // newest first, as GET /changes lists them: version 3 is c3, version 1 (created) is c1
  const history = [change('c3c3c3c3'), change('b2b2b2b2'), change('a1a1a1a1')];
  it.each([
    [undefined, ['c3c3c3c3']],
    ['2', ['c3c3c3c3']],
    ['1', ['c3c3c3c3', 'b2b2b2b2']],
    ['a1a1', ['c3c3c3c3', 'b2b2b2b2']],
    ['b2b2b2b2', ['c3c3c3c3']],
  ])('--to %s reverts %j', (to, shas) => {
    expect(changesToRevert(history, to).map(c => c.sha)).toEqual(shas);
  });
  it.each([
    ['3', "that is the resource's last change"],
    ['4', 'versions 1 to 3'],
    ['0', 'versions 1 to 3'],
    ['ffff', 'no change of the resource has this SHA'],
    ['HEAD~1', 'must be a commit SHA or a version number'],
  ])('--to %s is a usage error', (to, message) => {
    expect(() => changesToRevert(history, to)).toThrow(message);
  });
});

/* `idp rollback` against a real control plane (the backend plugin, real git). */
describe('idp rollback', () => {
  let cp: TestControlPlane;
  let idpApi: IdpClient;
  const out = captureOutput();
  const ana = 'user:default/ana';

  beforeAll(async () => {
    cp = await startTestControlPlane();
    idpApi = createIdpClient({ baseUrl: cp.baseUrl, token: cp.tokenFor(ana) });
  });
  afterAll(() => cp?.stop());

  const idp = idpAgainst(out, () => cp, ana);

  it('rolls back an update, a deletion, and back to a version', async () => {
    await idpApi.resources.create(cache('orders-cache'));
    await idpApi.resources.update('payments/orders-cache', {
      params: { size: 'medium' },
    });
    await idpApi.resources.update('payments/orders-cache', {
      params: { size: 'large' },
    });

    // the last update rolled back: medium again
    expect(await idp('rollback', 'payments/orders-cache')).toBe(0);
    expect(out.stdout).toMatch(
      /Reverted [0-9a-f]{12} as commit [0-9a-f]{12}: update resource:payments\/orders-cache/,
    );
    expect(
      (await idpApi.resources.get('payments/orders-cache')).spec.params,
    ).toMatchObject({ size: 'medium' });

    // versions: created, medium, large, and the revert
    out.stdout = '';
    expect(await idp('rollback', 'payments/orders-cache', '--list')).toBe(0);
    expect(out.stdout).toContain('Revert "');
    expect(out.stdout.trim().split('\n')).toHaveLength(5);

    // back to version 1, as created: each later change reverted, newest first
    out.stdout = '';
    expect(await idp('rollback', 'payments/orders-cache', '--to', '1')).toBe(0);
    expect(
      (await idpApi.resources.get('payments/orders-cache')).spec.params,
    ).toMatchObject({ size: 'small' });

    // a deletion rolled back: the resource is desired again
    await idpApi.resources.delete('payments/orders-cache');
    // the deletion runs to its end (a busy machine is slow) before it is rolled back
    for (let i = 0; i < 300; i++) {
      const gone = await idpApi.resources
        .get('payments/orders-cache')
        .then(r => r.status.state === 'DELETED')
        .catch(error => error instanceof IdpNotFoundError);
      if (gone) break;
      await new Promise(r => setTimeout(r, 100));
    }
    out.stdout = '';
    expect(await idp('rollback', 'payments/orders-cache')).toBe(0);
    expect(out.stdout).toContain('create resource:payments/orders-cache');
    const back = await idpApi.resources.get('payments/orders-cache');
    expect(back.spec.params).toMatchObject({ size: 'small' });
  });

  it('exits 1 naming the later change a rollback conflicts with', async () => {
    await idpApi.resources.create(cache('conflicted'));
    await idpApi.resources.update('payments/conflicted', {
      params: { size: 'large' },
    });
    const [update] = (await idpApi.changes.list('payments/conflicted')).items;
    // the creation alone, with the update after it, conflicts
    const [, creation] = (await idpApi.changes.list('payments/conflicted'))
      .items;
    await expect(idpApi.changes.revert(creation.sha)).rejects.toThrow(
      update.sha.slice(0, 12),
    );
    // Without a pull request module, a proposal is refused, naming what it needs.
    expect(await idp('rollback', 'payments/conflicted', '--propose')).toBe(1);
    expect(out.stderr).toContain('pull request module');
    expect(await idp('rollback', 'unknown-thing')).toBe(1);
    expect(out.stderr).toContain('not found');
  });
});

import { createIdpClient, IdpReviewRequiredError } from '@idp-multicloud/sdk';
import {
  startTestControlPlane,
  TestControlPlane,
} from '@idp-multicloud/test-utils';
import { captureOutput, idpAgainst } from '../__testUtils__/output';

jest.setTimeout(120_000);

/*
 * Changes that need review, against a real control plane whose state repository has a
 * remote and a pull request host (tier critical needs review).
 */
describe('idp with changes that need review', () => {
  let cp: TestControlPlane;
  const out = captureOutput();
  const ana = 'user:default/ana';

  beforeAll(async () => {
    cp = await startTestControlPlane({ reviewTiers: ['critical'] });
  });
  afterAll(() => cp?.stop());

  const idp = idpAgainst(out, () => cp, ana);
  const createLedger = (name: string, ...more: string[]) =>
    idp(
      'create',
      'mysql',
      name,
      '-n',
      'payments',
      '--owner',
      'group:default/payments',
      '--tier',
      'critical',
      '--cell',
      'cell-us',
      ...more,
    );
  const changeId = () =>
    /idp changes show ([0-9a-f-]{36}) --wait/.exec(out.stdout)?.[1];

  it('proposes a critical create as a pull request (exit 3), then follows it to applied', async () => {
    expect(await createLedger('ledger-db', '--wait')).toBe(3);
    expect(out.stdout).toContain(
      'Needs review: proposed as pull request #1 https://pulls.test/state/pull/1',
    );
    expect(out.stdout).toMatch(/status\s+awaiting-approval/);
    const id = changeId()!;
    expect(id).toBeDefined();
    // nothing exists until the pull request is merged
    expect(await idp('get', 'payments/ledger-db')).toBe(1);
    expect(out.stderr).toContain('No resource resource:payments/ledger-db');

    expect(await idp('changes', 'show', id)).toBe(0);
    expect(out.stdout).toContain('create resource:payments/ledger-db');

    cp.pullRequests.approve(1, 'alice');
    cp.pullRequests.merge(1);
    expect(
      await idp(
        'changes',
        'show',
        id,
        '--wait',
        '--timeout',
        '60s',
        '-o',
        'json',
      ),
    ).toBe(0);
    expect(JSON.parse(out.stdout)).toMatchObject({
      id,
      status: 'applied',
      approvers: ['alice'],
    });
    const idpApi = createIdpClient({
      baseUrl: cp.baseUrl,
      token: cp.tokenFor(ana),
    });
    expect((await idpApi.resources.get('payments/ledger-db')).spec.tier).toBe(
      'critical',
    );

    // the SDK says the same: the write was proposed, not made
    const thrown = await idpApi.resources
      .update('payments/ledger-db', { params: { size: 'large' } })
      .catch(e => e);
    expect(thrown).toBeInstanceOf(IdpReviewRequiredError);
    expect(thrown.proposal).toMatchObject({
      status: 'awaiting-approval',
      pullRequest: { number: 2 },
      objects: [{ ref: 'resource:payments/ledger-db', action: 'update' }],
    });
  });

  it('--wait exits 1 when the pull request is closed unmerged; a medium create is not reviewed', async () => {
    expect(await createLedger('audit-db')).toBe(3);
    const id = changeId()!;
    const [pr] = cp.pullRequests
      .list()
      .filter(p => p.change.objects[0]?.ref === 'resource:payments/audit-db');
    cp.pullRequests.close(pr.number);
    expect(await idp('changes', 'show', id, '--wait', '--timeout', '60s')).toBe(
      1,
    );
    expect(out.stdout).toMatch(/status\s+closed/);
    expect(await idp('changes', 'show', 'not-a-uuid')).toBe(2);
    expect(out.stderr).toContain('a change id is a UUID');

    expect(
      await idp(
        'create',
        'redis',
        'sessions',
        '-n',
        'payments',
        '--owner',
        'group:default/payments',
        '--tier',
        'medium',
        '--cell',
        'cell-eu',
      ),
    ).toBe(0);
  });
});

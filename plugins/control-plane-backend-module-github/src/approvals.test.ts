import { ProposedObject } from '@idp-multicloud/plugin-control-plane-node';
import {
  ApprovalRule,
  approvalVerdict,
  codeownersFor,
  requiredApprovals,
  teamOf,
  teamsFromCatalog,
} from './approvals';

const rules: ApprovalRule[] = [
  { tiers: ['critical'], count: 2, teams: ['platform'], fromOwner: false },
  { count: 1, fromOwner: true },
];
const resource = (tier: string, owner = 'group:default/payments') =>
  ({
    kind: 'Resource',
    ref: 'resource:payments/db',
    namespace: 'payments',
    action: 'update',
    tier,
    owner,
  } as ProposedObject);

describe('requiredApprovals', () => {
  it.each([
    [
      'a critical resource',
      [resource('critical')],
      2,
      [['platform'], ['payments']],
    ],
    ['a medium resource', [resource('medium')], 1, [['payments']]],
    [
      'a product (no rule applies)',
      [
        {
          kind: 'Product',
          ref: 'product:x',
          namespace: 'default',
          action: 'update',
        } as ProposedObject,
      ],
      1,
      [],
    ],
  ])('%s', (_, objects, count, teams) => {
    expect(requiredApprovals(rules, objects)).toEqual({ count, teams });
  });

  it('names the owner group as its team slug', () => {
    expect(teamOf('group:default/payments')).toBe('payments');
  });
});

describe('approvalVerdict', () => {
  const members = new Map([
    ['platform', new Set(['alice'])],
    ['payments', new Set(['bob'])],
  ]);
  const isMember = (team: string, user: string) =>
    members.get(team)?.has(user) ?? false;
  const critical = { count: 2, teams: [['platform'], ['payments']] };
  it.each([
    [
      [],
      false,
      [
        '2 more approvals (0 of 2)',
        'an approval from a member of platform',
        'an approval from a member of payments',
      ],
    ],
    [
      ['alice'],
      false,
      ['1 more approval (1 of 2)', 'an approval from a member of payments'],
    ],
    [['alice', 'carol'], false, ['an approval from a member of payments']],
    [['alice', 'bob'], true, []],
  ])('approved by %j: met %s', (approvers, met, missing) => {
    expect(approvalVerdict(critical, approvers, isMember)).toEqual({
      met,
      missing,
    });
  });
});

describe('codeownersFor', () => {
  it('owns each manifest by its owning team and the teams of the rules that apply', () => {
    expect(
      codeownersFor('acme', rules, [
        {
          path: 'resources/shop/web.yaml',
          namespace: 'shop',
          owner: 'group:default/shop',
          tier: 'medium',
        },
        {
          path: 'resources/payments/ledger.yaml',
          namespace: 'payments',
          owner: 'group:default/payments',
          tier: 'critical',
        },
        {
          path: 'resources/payments/solo.yaml',
          namespace: 'payments',
          owner: 'user:default/jane',
          tier: 'low',
        },
      ]).split('\n'),
    ).toEqual([
      expect.stringMatching(/^# /),
      expect.stringMatching(/^# /),
      '/resources/payments/ledger.yaml @acme/payments @acme/platform',
      '/resources/shop/web.yaml @acme/shop',
      '',
    ]);
  });
});

describe('teamsFromCatalog', () => {
  const group = (name: string, slug?: string, namespace = 'default') => ({
    metadata: {
      name,
      namespace,
      ...(slug ? { annotations: { 'github.com/team-slug': slug } } : {}),
    },
  });
  const teams = teamsFromCatalog('Acme', [
    group('payments', 'acme/payments-squad'),
    group('search', 'other-org/search'),
    group('ops', undefined),
    group('billing', 'acme/billing', 'finance'),
  ]);

  it.each([
    ['group:default/payments', 'payments-squad'],
    ['group:payments', 'payments-squad'],
    ['group:default/PAYMENTS', 'payments-squad'],
    // another organisation's team, or no annotation: the group's name
    ['group:default/search', 'search'],
    ['group:default/ops', 'ops'],
    ['group:finance/billing', 'billing'],
    ['group:default/unknown', 'unknown'],
  ])('%s is reviewed by @acme/%s', (owner, slug) => {
    expect(teams(owner)).toBe(slug);
  });

  it('names the mapped teams in CODEOWNERS and the approvals', () => {
    const owners = codeownersFor(
      'acme',
      [{ count: 1, fromOwner: true }],
      [
        {
          path: 'resources/payments/db.yaml',
          namespace: 'payments',
          owner: 'group:default/payments',
          tier: 'medium',
        },
      ],
      teams,
    );
    expect(owners).toContain(
      '/resources/payments/db.yaml @acme/payments-squad',
    );
    expect(
      requiredApprovals(
        [{ count: 1, fromOwner: true }],
        [resource('medium')],
        teams,
      ).teams,
    ).toEqual([['payments-squad']]);
  });
});

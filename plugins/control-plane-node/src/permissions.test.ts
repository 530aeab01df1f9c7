import {
  controlPlaneResourceConditions,
  controlPlaneResourceRules,
} from './permissions';

const resource = {
  ref: 'resource:default/orders-db',
  owner: 'group:default/payments',
  component: 'component:default/checkout',
  cell: 'cell-eu',
  tier: 'critical',
};

describe('control plane resource rules', () => {
  it.each([
    [['group:default/payments'], true],
    [['component:default/checkout'], true],
    [['user:default/bruno', 'group:default/platform'], false],
    [[], false],
  ])('IS_OWNER with claims %j allows: %s', (claims, allowed) => {
    expect(controlPlaneResourceRules.isOwner.apply(resource, { claims })).toBe(
      allowed,
    );
  });

  it('turns IS_OWNER into a query on owner or component', () => {
    expect(
      controlPlaneResourceRules.isOwner.toQuery({
        claims: ['group:default/payments'],
      }),
    ).toEqual({
      anyOf: [
        { column: 'owner', values: ['group:default/payments'] },
        { column: 'component', values: ['group:default/payments'] },
      ],
    });
  });

  it.each([
    ['isInCell', { cells: ['cell-eu'] }, true],
    ['isInCell', { cells: ['cell-us'] }, false],
    ['hasTier', { tiers: ['critical', 'high'] }, true],
    ['hasTier', { tiers: ['low'] }, false],
  ] as const)('%s %j allows: %s', (rule, params, allowed) => {
    expect(
      (controlPlaneResourceRules[rule].apply as Function)(resource, params),
    ).toBe(allowed);
  });

  it('builds conditions a policy can return, validated by the rule schema', () => {
    expect(
      controlPlaneResourceConditions.conditions.isOwner({
        claims: ['group:default/x'],
      }),
    ).toEqual({
      rule: 'IS_OWNER',
      resourceType: 'control-plane-resource',
      params: { claims: ['group:default/x'] },
    });
    expect(
      controlPlaneResourceRules.isOwner.paramsSchema?.['~standard'].validate({
        claims: 'x',
      }),
    ).toMatchObject({
      issues: expect.any(Array),
    });
  });
});

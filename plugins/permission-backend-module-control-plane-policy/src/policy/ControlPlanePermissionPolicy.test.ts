import { ConfigReader } from '@backstage/config';
import {
  AuthorizeResult,
  createPermission,
} from '@backstage/plugin-permission-common';
import {
  auditReadPermission,
  catalogReadPermission,
  clusterManagePermission,
  costReadPermission,
  fleetReadPermission,
  policyManagePermission,
  resourceCreatePermission,
  resourceDeletePermission,
  resourceOperatePermission,
  resourceReadPermission,
} from '@idp-multicloud/plugin-control-plane-common';
import {
  ControlPlanePermissionPolicy,
  readRoleMapping,
} from './ControlPlanePermissionPolicy';

const policy = new ControlPlanePermissionPolicy(
  readRoleMapping(
    new ConfigReader({
      controlPlane: {
        permissions: {
          roles: {
            admin: ['group:default/admins'],
            platformEngineer: ['group:default/platform'],
            developer: ['group:default/payments', 'group:default/search'],
          },
        },
      },
    }),
  ),
);

const user = (...refs: string[]) => ({
  identity: {
    type: 'user' as const,
    userEntityRef: refs[0],
    ownershipEntityRefs: refs,
  },
  info: { userEntityRef: refs[0], ownershipEntityRefs: refs },
  credentials: {} as any,
  token: 'token',
});
const admin = user('user:default/root', 'group:default/admins');
const engineer = user('user:default/ana', 'group:default/platform');
const developer = user('user:default/bruno', 'group:default/payments');
const stranger = user('user:default/eve', 'group:default/marketing');

const decide = (permission: any, who?: ReturnType<typeof user>) =>
  policy.handle({ permission }, who as any);

describe('ControlPlanePermissionPolicy', () => {
  it.each([
    ['admin', admin, policyManagePermission, AuthorizeResult.ALLOW],
    ['admin', admin, resourceDeletePermission, AuthorizeResult.ALLOW],
    ['engineer', engineer, clusterManagePermission, AuthorizeResult.ALLOW],
    ['engineer', engineer, auditReadPermission, AuthorizeResult.ALLOW],
    ['engineer', engineer, resourceReadPermission, AuthorizeResult.ALLOW],
    ['engineer', engineer, resourceOperatePermission, AuthorizeResult.ALLOW],
    ['engineer', engineer, policyManagePermission, AuthorizeResult.DENY],
    [
      'engineer',
      engineer,
      resourceDeletePermission,
      AuthorizeResult.CONDITIONAL,
    ],
    [
      'developer',
      developer,
      resourceCreatePermission,
      AuthorizeResult.CONDITIONAL,
    ],
    [
      'developer',
      developer,
      resourceReadPermission,
      AuthorizeResult.CONDITIONAL,
    ],
    ['developer', developer, catalogReadPermission, AuthorizeResult.ALLOW],
    ['developer', developer, costReadPermission, AuthorizeResult.CONDITIONAL],
    ['developer', developer, fleetReadPermission, AuthorizeResult.DENY],
    ['engineer', engineer, fleetReadPermission, AuthorizeResult.ALLOW],
    ['engineer', engineer, costReadPermission, AuthorizeResult.ALLOW],
    ['stranger', stranger, catalogReadPermission, AuthorizeResult.DENY],
    ['developer', developer, clusterManagePermission, AuthorizeResult.DENY],
    ['developer', developer, auditReadPermission, AuthorizeResult.DENY],
    ['stranger', stranger, resourceReadPermission, AuthorizeResult.DENY],
    ['anonymous', undefined, resourceReadPermission, AuthorizeResult.DENY],
  ])('%s asking for %#: %s', async (_who, who, permission, result) => {
    expect((await decide(permission, who)).result).toBe(result);
  });

  it('limits a developer to what their ownership refs own', async () => {
    expect(await decide(resourceDeletePermission, developer)).toEqual({
      result: AuthorizeResult.CONDITIONAL,
      pluginId: 'control-plane',
      resourceType: 'control-plane-resource',
      conditions: {
        rule: 'IS_OWNER',
        resourceType: 'control-plane-resource',
        params: { claims: ['user:default/bruno', 'group:default/payments'] },
      },
    });
  });

  it('leaves permissions of other plugins alone', async () => {
    const catalogRead = createPermission({
      name: 'catalog.entity.read',
      attributes: { action: 'read' },
    });
    expect((await decide(catalogRead, stranger)).result).toBe(
      AuthorizeResult.ALLOW,
    );
  });

  it('gives every signed-in user the developer role by default', async () => {
    const open = new ControlPlanePermissionPolicy(
      readRoleMapping(new ConfigReader({})),
    );
    expect(
      (
        await open.handle(
          { permission: resourceCreatePermission },
          stranger as any,
        )
      ).result,
    ).toBe(AuthorizeResult.CONDITIONAL);
    expect(
      (await open.handle({ permission: auditReadPermission }, stranger as any))
        .result,
    ).toBe(AuthorizeResult.DENY);
  });
});

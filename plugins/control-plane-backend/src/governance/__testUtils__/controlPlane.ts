import { TestDatabases } from '@backstage/backend-test-utils';
import simulatorModule from '@idp-multicloud/plugin-control-plane-backend-module-simulator';
import request from 'supertest';
import {
  authAs,
  startControlPlane,
  until,
  users,
} from '../../__testUtils__/backend';

export { git } from '../../__testUtils__/git';

/** What the governance tests share: a control plane, its API, the fleet, requests. */

export type ControlPlaneTest = Awaited<ReturnType<typeof startControlPlane>>;

export const simulator = {
  provisioningTime: { milliseconds: 30 },
  deprovisioningTime: { milliseconds: 10 },
  latency: { default: 0 },
};

export const call = (cp: ControlPlaneTest, user = users.ana) => {
  const as = authAs(user);
  const base = '/api/control-plane';
  return {
    get: (path: string) =>
      request(cp.server).get(`${base}${path}`).set('authorization', as),
    post: (path: string, body?: object) =>
      request(cp.server)
        .post(`${base}${path}`)
        .set('authorization', as)
        .send(body),
    delete: (path: string) =>
      request(cp.server).delete(`${base}${path}`).set('authorization', as),
    apply: (yaml: string) =>
      request(cp.server)
        .post(`${base}/manifests/apply`)
        .set('authorization', as)
        .send({ yaml }),
    plan: (yaml: string) =>
      request(cp.server)
        .post(`${base}/manifests/plan`)
        .set('authorization', as)
        .send({ yaml }),
  };
};

/** The clusters of the bootstrapped fleet, by cell. */
export const fleet = {
  'cell-us': [
    'aws-us-east-1',
    'azure-eastus',
    'gcp-us-central1',
    'oci-us-ashburn-1',
  ],
  'cell-eu': [
    'aws-eu-west-1',
    'azure-westeurope',
    'gcp-europe-west1',
    'oci-eu-frankfurt-1',
  ],
  'cell-ap': [
    'aws-ap-southeast-1',
    'azure-southeastasia',
    'gcp-asia-southeast1',
    'oci-ap-singapore-1',
  ],
};

/** The rejected candidates of a decision: [cluster, [filter, reason]...], by cluster. */
export const rejectionsOf = (decision: any) =>
  decision.candidates
    .filter((c: any) => c.rejected.length > 0)
    .map((c: any) => [
      c.cluster,
      c.rejected.map((r: any) => [r.filter, r.reason]),
    ])
    .sort(([a]: string[], [b]: string[]) => a.localeCompare(b));

export const inOtherCells = (cell: keyof typeof fleet) =>
  (Object.keys(fleet) as (keyof typeof fleet)[])
    .filter(c => c !== cell)
    .flatMap(c => fleet[c].map(name => [name, c] as const));

export const mysql = (name: string, extra: object = {}) => ({
  name,
  product: 'mysql',
  owner: 'group:default/payments',
  tier: 'medium',
  cell: 'cell-us',
  params: { size: 'small' },
  ...extra,
});

/** A control plane that provisions on the simulator. */
export const orchestrated = (
  databases: TestDatabases,
  databaseId: Parameters<TestDatabases['init']>[0],
) =>
  startControlPlane(databases, databaseId, {
    orchestration: true,
    features: [simulatorModule],
    controlPlane: { simulator },
  });

/** Waits until the resource `default/<name>` is READY. */
export const ready = (api: ReturnType<typeof call>, name: string) =>
  until(
    async () =>
      (await api.get(`/resources/default/${name}`)).body.status?.state ===
      'READY',
    `${name} READY`,
  );

export const quota = (name: string, scope: string, limits: string) => `
apiVersion: idp.multicloud/v1
kind: Quota
metadata: { name: ${name} }
spec:
  scope: ${scope}
  limits: ${limits}
`;

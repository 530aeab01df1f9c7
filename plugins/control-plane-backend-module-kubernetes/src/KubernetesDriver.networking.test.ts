import { FakeKubernetes } from './__testUtils__/fakeKubernetes';
import {
  context,
  patches,
  resource,
  startDriverOnFake,
  target,
} from './__testUtils__/driverOnFake';
import { KubernetesDriver } from './KubernetesDriver';

describe('KubernetesDriver', () => {
  let fake: FakeKubernetes;
  let driver: KubernetesDriver;

  beforeEach(async () => {
    ({ fake, driver } = await startDriverOnFake());
  });

  afterEach(() => fake.stop());

  describe('networking and DNS', () => {
    it('opens the resource to its namespace with a network policy, and removes it', async () => {
      await expect(
        driver.configureNetworking(resource(), target, context()),
      ).resolves.toEqual({
        host: 'orders-db.team-a.svc.cluster.local',
        port: 3306,
      });
      expect(
        fake.get(
          'networking.k8s.io/v1',
          'NetworkPolicy',
          'team-a',
          'orders-db-ingress',
        ),
      ).toMatchObject({
        spec: {
          podSelector: {
            matchLabels: { 'idp.multicloud/resource-uid': resource().uid },
          },
          policyTypes: ['Ingress'],
          ingress: [
            {
              from: [{ podSelector: {} }],
              ports: [{ protocol: 'TCP', port: 3306 }],
            },
          ],
        },
      });
      expect(patches(fake)[0].query.fieldManager).toBe('control-plane');

      await driver.removeNetworking(resource(), target, context());
      expect(
        fake.get(
          'networking.k8s.io/v1',
          'NetworkPolicy',
          'team-a',
          'orders-db-ingress',
        ),
      ).toBeUndefined();
      await expect(
        driver.removeNetworking(resource(), target, context()),
      ).resolves.toBeUndefined();
    });

    it('uses the port a web app asks for', async () => {
      const webapp = resource({
        name: 'shop',
        product: 'webapp',
        params: { port: 3000 },
      });
      await expect(
        driver.configureNetworking(webapp, target, context()),
      ).resolves.toEqual({
        host: 'shop.team-a.svc.cluster.local',
        port: 3000,
      });
      const defaults = resource({
        name: 'shop',
        product: 'webapp',
        params: {},
      });
      await expect(
        driver.configureNetworking(defaults, target, context()),
      ).resolves.toMatchObject({ port: 8080 });
    });

    it('publishes a DNS endpoint for external-dns, and removes it', async () => {
      await expect(
        driver.registerDns(resource(), target, context()),
      ).resolves.toEqual({
        hostname: 'orders-db.team-a.cell-us.idp.internal',
      });
      expect(
        fake.get(
          'externaldns.k8s.io/v1alpha1',
          'DNSEndpoint',
          'team-a',
          'orders-db-dns',
        ),
      ).toMatchObject({
        spec: {
          endpoints: [
            {
              dnsName: 'orders-db.team-a.cell-us.idp.internal',
              recordType: 'CNAME',
              targets: ['orders-db.team-a.svc.cluster.local'],
            },
          ],
        },
      });

      await driver.deregisterDns(resource(), target, context());
      expect(
        fake.get(
          'externaldns.k8s.io/v1alpha1',
          'DNSEndpoint',
          'team-a',
          'orders-db-dns',
        ),
      ).toBeUndefined();
      await expect(
        driver.deregisterDns(resource(), target, context()),
      ).resolves.toBeUndefined();
    });
  });
});

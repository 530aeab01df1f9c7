import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeKubernetes } from './__testUtils__/fakeKubernetes';
import {
  context,
  MYSQL,
  patches,
  resource,
  target,
  TOKEN,
} from './__testUtils__/driverOnFake';
import { KubernetesDriver } from './KubernetesDriver';

describe('KubernetesDriver', () => {
  let fake: FakeKubernetes;

  beforeEach(async () => {
    fake = await FakeKubernetes.start({ token: TOKEN });
  });

  afterEach(() => fake.stop());

  describe('configuration', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'kubeconfig-'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    function writeKubeconfig() {
      const path = join(dir, 'config');
      writeFileSync(
        path,
        `apiVersion: v1
kind: Config
clusters:
  - name: fake
    cluster: { server: "${fake.url}", insecure-skip-tls-verify: true }
  - name: nowhere
    cluster: { server: "https://127.0.0.1:1" }
users:
  - name: robot
    user: { token: ${TOKEN} }
contexts:
  - name: fake-ctx
    context: { cluster: fake, user: robot }
  - name: nowhere-ctx
    context: { cluster: nowhere, user: robot }
current-context: nowhere-ctx
`,
      );
      return path;
    }

    it('reads a cluster from a kubeconfig file and context', async () => {
      const fromFile = new KubernetesDriver({
        clusters: [
          {
            name: 'aws-us-east-1',
            kubeconfigPath: writeKubeconfig(),
            context: 'fake-ctx',
          },
        ],
      });
      await fromFile.apply(resource(), target, context());
      expect(patches(fake)[0].authorization).toBe(`Bearer ${TOKEN}`);
      expect(fake.get(...MYSQL, 'team-a', 'orders-db')).toBeDefined();
    });

    it('refuses a context the kubeconfig does not have', () => {
      expect(
        () =>
          new KubernetesDriver({
            clusters: [
              {
                name: 'x',
                kubeconfigPath: writeKubeconfig(),
                context: 'missing',
              },
            ],
          }),
      ).toThrow("context 'missing'");
    });

    it('refuses a cluster with neither or a mix of url and kubeconfig settings', () => {
      expect(() => new KubernetesDriver({ clusters: [{ name: 'x' }] })).toThrow(
        /url/,
      );
      expect(
        () =>
          new KubernetesDriver({
            clusters: [
              { name: 'x', url: fake.url, kubeconfigPath: writeKubeconfig() },
            ],
          }),
      ).toThrow(/do not go with kubeconfigPath/);
      expect(
        () =>
          new KubernetesDriver({
            clusters: [{ name: 'x', url: fake.url, context: 'fake-ctx' }],
          }),
      ).toThrow(/context goes with kubeconfigPath/);
    });

    it('offers the products it has claims for, with their operations', () => {
      const custom = new KubernetesDriver({
        clusters: [],
        claims: {
          mongodb: {
            apiVersion: 'database.example.com/v1',
            kind: 'MongoDB',
            operations: ['backup'],
          },
        },
      });
      const { products, operations } = custom.capabilities();
      expect(products.sort()).toEqual([
        'kafka',
        'mongodb',
        'mysql',
        'object-bucket',
        'postgres',
        'redis',
        'webapp',
      ]);
      expect(operations.mysql.sort()).toEqual([
        'backup',
        'failover',
        'migrate',
        'restore',
        'rotate-credentials',
        'scale',
        'upgrade-version',
      ]);
      expect(operations.webapp.sort()).toEqual([
        'migrate',
        'rotate-credentials',
        'scale',
        'upgrade-version',
      ]);
      expect(operations.mongodb).toEqual(['backup']);
    });
  });
});

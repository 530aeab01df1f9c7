import { createBackendPlugin } from '@backstage/backend-plugin-api';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { JsonObject } from '@backstage/types';
import {
  controlPlaneDeliveryExtensionPoint,
  DeliveryProvider,
} from '@idp-multicloud/plugin-control-plane-node';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import defaultFeature, { controlPlaneModuleGitOps } from './index';

/** A stand-in for the control plane plugin: it only keeps the delivery provider set. */
function fakeControlPlane(providers: DeliveryProvider[]) {
  return createBackendPlugin({
    pluginId: 'control-plane',
    register(env) {
      env.registerExtensionPoint(controlPlaneDeliveryExtensionPoint, {
        setDeliveryProvider(provider) {
          providers.push(provider);
        },
      });
      env.registerInit({ deps: {}, async init() {} });
    },
  });
}

async function start(delivery?: JsonObject) {
  const providers: DeliveryProvider[] = [];
  const backend = await startTestBackend({
    features: [
      fakeControlPlane(providers),
      controlPlaneModuleGitOps,
      mockServices.rootConfig.factory({
        data: delivery ? { controlPlane: { delivery } } : {},
      }),
    ],
  });
  return { backend, providers };
}

describe('controlPlaneModuleGitOps', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'idp-gitops-module-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is the default export of the package', () => {
    expect(defaultFeature).toBe(controlPlaneModuleGitOps);
  });

  it('sets the gitops delivery provider and makes the deploy repository', async () => {
    const path = join(dir, 'deploy.git');
    const { backend, providers } = await start({
      repository: { path, url: 'https://git.example.com/deploy.git' },
      argocd: { baseUrl: 'https://argocd.example.com', token: 't' },
    });
    expect(providers.map(p => p.id)).toEqual(['gitops']);
    expect(existsSync(join(path, 'HEAD'))).toBe(true);
    await backend.stop();
  });

  it('does nothing without controlPlane.delivery', async () => {
    const { backend, providers } = await start();
    expect(providers).toEqual([]);
    await backend.stop();
  });

  it('refuses to start on a bad configuration, naming the key', async () => {
    await expect(
      start({
        repository: { path: join(dir, 'd.git'), url: 'u' },
        argocd: { baseUrl: 'argocd.example.com', token: 't' },
      }),
    ).rejects.toThrow(/controlPlane\.delivery\.argocd\.baseUrl/);
  });
});

import {
  defaultTiers,
  Manifest,
  MANIFEST_API_VERSION,
  tierIds,
} from '@idp-multicloud/plugin-control-plane-common';

const providers = {
  aws: { displayName: 'Amazon Web Services', kind: 'aws' },
  gcp: { displayName: 'Google Cloud', kind: 'gcp' },
  azure: { displayName: 'Microsoft Azure', kind: 'azure' },
  oci: { displayName: 'Oracle Cloud Infrastructure', kind: 'oci' },
} as const;

const cells = {
  'cell-us': { displayName: 'United States', geo: 'us' },
  'cell-eu': { displayName: 'European Union', geo: 'eu', dataResidency: 'EU' },
  'cell-ap': { displayName: 'Asia Pacific', geo: 'ap' },
} as const;

// One cluster per cell and provider: [provider, region, zones, capacity scale].
const clusters: Record<
  keyof typeof cells,
  [keyof typeof providers, string, string[], number][]
> = {
  'cell-us': [
    ['aws', 'us-east-1', ['us-east-1a', 'us-east-1b', 'us-east-1c'], 3],
    [
      'gcp',
      'us-central1',
      ['us-central1-a', 'us-central1-b', 'us-central1-f'],
      2,
    ],
    ['azure', 'eastus', ['eastus-1', 'eastus-2', 'eastus-3'], 2],
    ['oci', 'us-ashburn-1', ['us-ashburn-1-ad1'], 1],
  ],
  'cell-eu': [
    ['aws', 'eu-west-1', ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'], 2],
    [
      'gcp',
      'europe-west1',
      ['europe-west1-b', 'europe-west1-c', 'europe-west1-d'],
      2,
    ],
    [
      'azure',
      'westeurope',
      ['westeurope-1', 'westeurope-2', 'westeurope-3'],
      1,
    ],
    ['oci', 'eu-frankfurt-1', ['eu-frankfurt-1-ad1'], 1],
  ],
  'cell-ap': [
    [
      'aws',
      'ap-southeast-1',
      ['ap-southeast-1a', 'ap-southeast-1b', 'ap-southeast-1c'],
      2,
    ],
    ['gcp', 'asia-southeast1', ['asia-southeast1-a', 'asia-southeast1-b'], 1],
    ['azure', 'southeastasia', ['southeastasia-1', 'southeastasia-2'], 1],
    ['oci', 'ap-singapore-1', ['ap-singapore-1-ad1'], 1],
  ],
};

const meta = (name: string) => ({ name, labels: {} });

/**
 * The first commit of a new state repository: the tiers, and a fleet of four providers with
 * one cluster each in three cells, all acted on by the named driver (by default the
 * simulator). Platform engineers edit or replace all of it in Git.
 */
export function bootstrapManifests(driver: string): Manifest[] {
  const manifests: Manifest[] = [];
  for (const id of tierIds) {
    manifests.push({
      apiVersion: MANIFEST_API_VERSION,
      kind: 'Tier',
      metadata: meta(id) as { name: typeof id; labels: {} },
      spec: defaultTiers[id],
    });
  }
  for (const [id, spec] of Object.entries(providers)) {
    manifests.push({
      apiVersion: MANIFEST_API_VERSION,
      kind: 'Provider',
      metadata: meta(id),
      spec: { ...spec, driver },
    });
  }
  for (const [id, spec] of Object.entries(cells)) {
    const cell = id as keyof typeof cells;
    manifests.push({
      apiVersion: MANIFEST_API_VERSION,
      kind: 'Cell',
      metadata: meta(id),
      spec: {
        ...spec,
        providers: clusters[cell].map(([provider]) => provider),
      },
    });
    for (const [provider, region, zones, scale] of clusters[cell]) {
      manifests.push({
        apiVersion: MANIFEST_API_VERSION,
        kind: 'Cluster',
        metadata: meta(`${provider}-${region}`),
        spec: {
          cell: id,
          provider,
          region,
          zones,
          version: '1.33',
          lifecycle: 'active',
          nodePools: [
            {
              name: 'general',
              machineType: 'standard-8',
              count: 6 * scale,
              zones,
            },
          ],
          capacity: {
            cpu: 48 * scale,
            memoryGi: 192 * scale,
            storageGi: 4096 * scale,
            maxResources: 40 * scale,
          },
        },
      });
    }
  }
  return manifests;
}

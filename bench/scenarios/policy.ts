/**
 * policy: one admission decision of the built-in evaluator — the input document built from
 * the desired state (the resource, its product, tier and cell, every quota that applies with
 * the usage of everything else in its scope, the policies) and its evaluation — for a new
 * resource in a state of 100 and 1,000 resources, against a bare baseline over the same
 * state (one pass summing the usage of the same scopes, and the same allow lists). Each
 * decision is timed on its own, for p50 and p99. The placements of live resources are read
 * once (as a change does before deciding its resources), so this times the decision, not
 * that query.
 */
import {
  Manifest,
  MANIFEST_API_VERSION,
  ManifestOf,
} from '@idp-multicloud/plugin-control-plane-common';
import { AuditLog } from '../../plugins/control-plane-backend/src/audit/AuditLog';
import { ResourceEventStore } from '../../plugins/control-plane-backend/src/events/ResourceEventStore';
import { bootstrapManifests } from '../../plugins/control-plane-backend/src/gitops/bootstrap';
import { DesiredState } from '../../plugins/control-plane-backend/src/gitops/DesiredState';
import { PolicyService } from '../../plugins/control-plane-backend/src/governance/PolicyService';
import { ResourceStore } from '../../plugins/control-plane-backend/src/resources/ResourceStore';
import { Pricing } from '../../plugins/control-plane-backend/src/scheduling/pricing';
import { readControlPlaneConfig } from '../../plugins/control-plane-backend/src/config';
import { ConfigReader } from '@backstage/config';
import { sqliteFile } from '../databases';
import { Benchmark, Comparison, timeEach } from '../harness';

const teams = ['payments', 'search', 'identity', 'catalog', 'checkout'];
const cells = ['cell-us', 'cell-eu', 'cell-ap'];
const products = ['mysql', 'postgres', 'redis'];
const tiers = ['critical', 'high', 'medium', 'low'] as const;
const providers = ['aws', 'gcp', 'azure', 'oci'];

const meta = (name: string) => ({ name, labels: {} });

function resource(i: number): ManifestOf<'Resource'> {
  return {
    apiVersion: MANIFEST_API_VERSION,
    kind: 'Resource',
    metadata: { namespace: `ns-${i % 20}`, name: `db-${i}`, labels: {} },
    spec: {
      product: products[i % products.length],
      owner: `group:default/${teams[i % teams.length]}`,
      tier: tiers[i % tiers.length],
      cell: cells[i % cells.length],
      params: {
        size: i % 2 ? 'small' : 'medium',
        storageGi: 20 + (i % 5) * 10,
      },
      dependsOn: [],
    },
  } as ManifestOf<'Resource'>;
}

/** The fleet and tiers of a new state repository, `n` resources, quotas and policies. */
function state(n: number): DesiredState {
  const manifests: Manifest[] = bootstrapManifests('simulated');
  for (let i = 0; i < n; i++) manifests.push(resource(i));
  for (const cell of cells) {
    manifests.push({
      apiVersion: MANIFEST_API_VERSION,
      kind: 'Quota',
      metadata: meta(`cell-${cell}`),
      spec: {
        scope: { kind: 'cell', name: cell },
        limits: { maxInstances: 100_000, maxMonthlyCost: 10_000_000 },
      },
    } as Manifest);
  }
  for (const team of teams) {
    manifests.push({
      apiVersion: MANIFEST_API_VERSION,
      kind: 'Quota',
      metadata: meta(`team-${team}`),
      spec: {
        scope: { kind: 'team', name: `group:default/${team}` },
        limits: { maxInstances: 100_000, maxStorageGi: 10_000_000 },
      },
    } as Manifest);
  }
  manifests.push(
    {
      apiVersion: MANIFEST_API_VERSION,
      kind: 'Quota',
      metadata: meta('ns-0'),
      spec: {
        scope: { kind: 'namespace', name: 'ns-0' },
        limits: { maxMonthlyCost: 10_000_000 },
      },
    } as Manifest,
    {
      apiVersion: MANIFEST_API_VERSION,
      kind: 'Policy',
      metadata: meta('databases-only'),
      spec: {
        subjects: { teams: teams.map(t => `group:default/${t}`) },
        products: { allow: [...products, 'kafka'] },
        tiers: { allow: [...tiers] },
      },
    } as Manifest,
    {
      apiVersion: MANIFEST_API_VERSION,
      kind: 'Policy',
      metadata: meta('no-ap-for-ns-9'),
      spec: {
        subjects: { namespaces: ['ns-9'] },
        cells: { allow: ['cell-us', 'cell-eu'] },
      },
    } as Manifest,
  );
  return DesiredState.create('0'.repeat(40), manifests);
}

/** The least a decision over the same state must do: one pass over its resources. */
function bareDecision(
  desired: DesiredState,
  manifest: ManifestOf<'Resource'>,
): boolean {
  const { owner, cell, product, tier } = manifest.spec;
  let team = 0;
  let inCell = 0;
  let inNamespace = 0;
  let storage = 0;
  for (const r of desired.ofKind('Resource')) {
    if (r.spec.owner === owner) {
      team += 1;
      storage += Number(r.spec.params.storageGi ?? 0);
    }
    if (r.spec.cell === cell) inCell += 1;
    if (r.metadata.namespace === manifest.metadata.namespace) inNamespace += 1;
  }
  return (
    team < 100_000 &&
    inCell < 100_000 &&
    inNamespace < 100_000 &&
    storage < 10_000_000 &&
    [...products, 'kafka'].includes(product) &&
    (tiers as readonly string[]).includes(tier)
  );
}

const benchmark: Benchmark = {
  description:
    'one admission decision of the built-in policy evaluator (input document + evaluation) vs a bare pass over the same state',
  async *comparisons(): AsyncIterable<Comparison> {
    for (const size of [100, 1000]) {
      const db = await sqliteFile();
      const audit = new AuditLog(db.knex);
      const policy = new PolicyService({
        resources: new ResourceStore(
          db.knex,
          new ResourceEventStore(db.knex),
          audit,
        ),
        audit,
        // The price list a control plane without `controlPlane.pricing` uses.
        pricing: new Pricing(
          readControlPlaneConfig(new ConfigReader({})).pricing,
        ),
      });
      const before = state(size);
      // Live resources run somewhere: their cost is priced on that provider.
      const placements = new Map(
        before
          .ofKind('Resource')
          .map((m, i) => [
            `${m.metadata.namespace}/${m.metadata.name}`,
            providers[i % providers.length],
          ]),
      );
      // Requests: new resources of every team, cell and namespace in turn.
      const requests = Array.from({ length: 64 }, (_, i) => {
        const manifest = resource(size + i);
        return { manifest, next: before.with([manifest]) };
      });
      const decide = async (i: number) => {
        const { manifest, next } = requests[i % requests.length];
        const input = await policy.input({
          action: 'resource.create',
          actor: 'user:default/bench',
          before,
          next,
          manifest,
          placements,
        });
        return policy.evaluate(input);
      };
      const first = await decide(0);
      if (!first.allowed) {
        throw new Error(
          `the bench request is refused: ${first.violations
            .map(v => v.message)
            .join('; ')}`,
        );
      }
      yield {
        name: `${size} resources`,
        batch: size >= 1000 ? 50 : 200,
        goalP99Ms: 1,
        scenario: { label: 'decision', run: n => timeEach(n, decide) },
        baseline: {
          label: 'bare pass',
          run: n =>
            timeEach(n, i => {
              const { manifest, next } = requests[i % requests.length];
              return bareDecision(next, manifest);
            }),
        },
        close: () => db.close(),
      };
    }
  },
};

export default benchmark;

import { useApi } from '@backstage/frontend-plugin-api';
import { Container, Flex, Text } from '@backstage/ui';
import useAsync from 'react-use/esm/useAsync';
import { controlPlaneApiRef } from '../../api';
import { FleetProvider } from '../../types';
import { AsyncView, DataTable, percent, Section, StateBadge } from '../common';

const breakerText: Record<string, string> = {
  closed: 'closed (healthy)',
  'half-open': 'half-open (probing)',
  open: 'open (placements avoid it)',
};

const ProviderHealthCell = (props: { provider: FleetProvider }) => {
  const h = props.provider.health;
  if (!h) return <Text variant="body-small">not reported</Text>;
  return (
    <Text variant="body-small">
      {percent(h.score)} · error rate {percent(h.errorRate, 1)} · p95{' '}
      {h.p95LatencyMs} ms · {h.calls} calls
    </Text>
  );
};

/** The fleet: cells, providers with their health and circuit breaker, clusters. */
export const FleetPage = () => {
  const api = useApi(controlPlaneApiRef);
  const cells = useAsync(() => api.cells(), [api]);
  const providers = useAsync(() => api.providers(), [api]);
  const clusters = useAsync(() => api.clusters(), [api]);
  return (
    <Container>
      <Flex direction="column" gap="4">
        <Section title="Providers">
          <AsyncView
            what="providers"
            loading={providers.loading}
            error={providers.error}
            value={providers.value}
            isEmpty={v => v.length === 0}
            empty={{
              title: 'No providers',
              description:
                'Declare providers (aws, gcp, azure, oci, onprem) in providers/ of the state repository, or install a driver module.',
            }}
          >
            {v => (
              <DataTable
                caption="Providers"
                rows={v}
                rowKey={p => p.id}
                rowLabel={p => p.displayName}
                columns={[
                  { title: 'Provider', render: p => p.displayName },
                  { title: 'Kind', render: p => p.kind },
                  { title: 'Driver', render: p => p.driver },
                  {
                    title: 'Breaker',
                    render: p =>
                      p.health
                        ? breakerText[p.health.breaker] ?? p.health.breaker
                        : '—',
                  },
                  {
                    title: 'Health',
                    render: p => <ProviderHealthCell provider={p} />,
                  },
                ]}
              />
            )}
          </AsyncView>
        </Section>
        <Section title="Cells">
          <AsyncView
            what="cells"
            loading={cells.loading}
            error={cells.error}
            value={cells.value}
            isEmpty={v => v.length === 0}
            empty={{
              title: 'No cells',
              description:
                'A cell groups clusters of several providers in one region. Declare one in cells/ of the state repository.',
            }}
          >
            {v => (
              <DataTable
                caption="Cells"
                rows={v}
                rowKey={c => c.id}
                rowLabel={c => c.displayName}
                columns={[
                  { title: 'Cell', render: c => `${c.displayName} (${c.id})` },
                  { title: 'Geography', render: c => c.geo },
                  {
                    title: 'Data residency',
                    render: c => c.dataResidency ?? '—',
                  },
                  { title: 'Providers', render: c => c.providers.join(', ') },
                ]}
              />
            )}
          </AsyncView>
        </Section>
        <Section title="Clusters">
          <AsyncView
            what="clusters"
            loading={clusters.loading}
            error={clusters.error}
            value={clusters.value}
            isEmpty={v => v.length === 0}
            empty={{
              title: 'No clusters',
              description:
                'Resources need a cluster to run on. Declare clusters in clusters/ of the state repository.',
            }}
          >
            {v => (
              <DataTable
                caption="Clusters"
                rows={v}
                rowKey={c => c.id}
                rowLabel={c => c.id}
                columns={[
                  { title: 'Cluster', render: c => c.id },
                  { title: 'Cell', render: c => c.cell },
                  { title: 'Provider', render: c => c.provider },
                  { title: 'Region', render: c => c.region },
                  { title: 'Zones', render: c => c.zones.join(', ') },
                  { title: 'Version', render: c => c.version },
                  {
                    title: 'Lifecycle',
                    render: c => <StateBadge state={c.lifecycle} />,
                  },
                  {
                    title: 'Health',
                    render: c =>
                      c.health
                        ? `${percent(c.health.score)}${
                            c.health.status ? ` (${c.health.status})` : ''
                          }`
                        : 'not reported',
                  },
                  {
                    title: 'Capacity',
                    render: c =>
                      `${c.capacity.maxResources} resources, ${c.capacity.cpu} CPU, ${c.capacity.memoryGi} GiB`,
                  },
                ]}
              />
            )}
          </AsyncView>
        </Section>
      </Flex>
    </Container>
  );
};

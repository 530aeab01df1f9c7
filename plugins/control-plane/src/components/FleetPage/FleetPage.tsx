import { useApi } from '@backstage/frontend-plugin-api';
import { usePermission } from '@backstage/plugin-permission-react';
import { clusterManagePermission } from '@idp-multicloud/plugin-control-plane-common';
import { useState } from 'react';
import { Container, Flex, Text } from '@backstage/ui';
import useAsync from 'react-use/esm/useAsync';
import { controlPlaneApiRef } from '../../api';
import { FleetCluster, FleetProvider } from '../../types';
import {
  AsyncView,
  DataTable,
  isSimulated,
  simulatedIds,
  percent,
  Section,
  SimulatedNotice,
} from '../common';
import { useConfirmedAction } from '../EntityInfrastructureContent/ResourceActions';
import {
  ChannelCell,
  ClusterActions,
  HealthCell,
  OperationCell,
  PhaseCell,
  VersionCell,
} from './ClusterCells';

const breakerText: Record<FleetProvider['health']['breaker'], string> = {
  closed: 'closed (healthy)',
  'half-open': 'half-open (probing)',
  open: 'open (placements avoid it)',
};

const BreakerCell = (props: { provider: FleetProvider }) => {
  const h = props.provider.health;
  return (
    <Flex direction="column" gap="1">
      <Text variant="body-small">{breakerText[h.breaker]}</Text>
      {h.reason && (
        <Text variant="body-x-small" color="secondary">
          {h.reason}
        </Text>
      )}
    </Flex>
  );
};

const ProviderHealthCell = (props: { provider: FleetProvider }) => {
  const h = props.provider.health;
  if (h.calls === 0) {
    return (
      <Text variant="body-small">
        no driver calls yet: scored {percent(h.score)} until there are
      </Text>
    );
  }
  return (
    <Text variant="body-small">
      {percent(h.score)} · error rate {percent(h.errorRate, 1)} · mean latency{' '}
      {Math.round(h.latencyMs)} ms · {h.calls} calls
    </Text>
  );
};

const DriverCell = (props: { provider: FleetProvider }) =>
  isSimulated(props.provider) ? (
    <Text variant="body-small">
      <strong>simulated</strong> — a simulator, not a real cloud
    </Text>
  ) : (
    <Text variant="body-small">{props.provider.driver}</Text>
  );

const gib = (n: number) => `${Math.round(n * 10) / 10} GiB`;

const UtilizationCell = (props: { cluster: FleetCluster }) => {
  const { usage, capacity } = props.cluster;
  return (
    <Flex direction="column" gap="1">
      <Text variant="body-small">{percent(usage.utilization)}</Text>
      <meter
        aria-label={`Utilisation of ${props.cluster.id}`}
        min={0}
        max={1}
        value={Math.min(usage.utilization, 1)}
        high={0.8}
        optimum={0}
      />
      <Text variant="body-x-small" color="secondary">
        CPU {usage.cpu} of {capacity.cpu}, memory {gib(usage.memoryGi)} of{' '}
        {gib(capacity.memoryGi)}, storage {gib(usage.storageGi)} of{' '}
        {gib(capacity.storageGi)}
      </Text>
    </Flex>
  );
};

/** The fleet: cells, providers with their health and circuit breaker, clusters and their use. */
export const FleetPage = () => {
  const api = useApi(controlPlaneApiRef);
  const cells = useAsync(() => api.cells(), [api]);
  const providers = useAsync(() => api.providers(), [api]);
  const [tick, setTick] = useState(0);
  const clusters = useAsync(() => api.clusters(), [api, tick]);
  const manage = usePermission({ permission: clusterManagePermission });
  const { ask, dialog, outcomeAlert } = useConfirmedAction(() =>
    setTick(t => t + 1),
  );
  const simulated = simulatedIds(providers.value ?? []);
  return (
    <Container>
      <Flex direction="column" gap="4">
        <SimulatedNotice providers={simulated} />
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
                  {
                    title: 'Driver',
                    render: p => <DriverCell provider={p} />,
                  },
                  {
                    title: 'Breaker',
                    render: p => <BreakerCell provider={p} />,
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
              <Flex direction="column" gap="2">
                <Text as="p" variant="body-small" color="secondary">
                  Clusters by cell and provider. Utilisation is what the
                  resources placed on a cluster ask of it, the highest of CPU,
                  memory and storage over its capacity. The health score (0–100)
                  weighs Kubernetes version support, control-plane and node
                  conditions, certificate expiry, headroom, failed operations in
                  24 hours and drift; placements weigh it with the health of the
                  provider, and skip clusters that are provisioning, upgrading,
                  draining or below 40.
                </Text>
                {outcomeAlert}
                {dialog}
                <DataTable
                  caption="Clusters"
                  rows={[...v].sort(
                    (a, b) =>
                      a.cell.localeCompare(b.cell) ||
                      a.provider.localeCompare(b.provider) ||
                      a.id.localeCompare(b.id),
                  )}
                  rowKey={c => c.id}
                  rowLabel={c => c.id}
                  columns={[
                    { title: 'Cluster', render: c => c.id },
                    { title: 'Cell', render: c => c.cell },
                    {
                      title: 'Provider',
                      render: c =>
                        simulated.has(c.provider)
                          ? `${c.provider} (simulated)`
                          : c.provider,
                    },
                    { title: 'Region', render: c => c.region },
                    { title: 'Zones', render: c => c.zones.join(', ') },
                    {
                      title: 'Version',
                      render: c => <VersionCell cluster={c} />,
                    },
                    {
                      title: 'Phase',
                      render: c => <PhaseCell cluster={c} />,
                    },
                    {
                      title: 'Resources',
                      render: c =>
                        `${c.usage.resources} of ${c.capacity.maxResources}`,
                    },
                    {
                      title: 'Utilisation',
                      render: c => <UtilizationCell cluster={c} />,
                    },
                    {
                      title: 'Channel',
                      render: c => <ChannelCell cluster={c} />,
                    },
                    {
                      title: 'Health',
                      render: c => <HealthCell cluster={c} />,
                    },
                    {
                      title: 'Operation',
                      render: c => <OperationCell cluster={c} />,
                    },
                    ...(manage.allowed
                      ? [
                          {
                            title: 'Actions',
                            render: (c: FleetCluster) => (
                              <ClusterActions cluster={c} ask={ask} />
                            ),
                          },
                        ]
                      : []),
                  ]}
                />
              </Flex>
            )}
          </AsyncView>
        </Section>
      </Flex>
    </Container>
  );
};

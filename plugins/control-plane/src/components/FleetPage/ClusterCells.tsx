import { useApi } from '@backstage/frontend-plugin-api';
import { Button, Flex, Text } from '@backstage/ui';
import useAsync from 'react-use/esm/useAsync';
import { controlPlaneApiRef } from '../../api';
import { FleetCluster } from '../../types';
import { StateBadge } from '../common';

const marks: Record<string, string> = {
  pending: '·',
  running: '…',
  succeeded: '✓',
  failed: '✗',
  compensated: '↶',
};

/** Observed control plane version; `from → to` while it differs from the desired one. */
export const VersionCell = (props: { cluster: FleetCluster }) => {
  const { version, observed } = props.cluster;
  const running = observed?.controlPlaneVersion;
  return (
    <Text variant="body-small">
      {running && !running.startsWith(version) && !version.startsWith(running)
        ? `${running} → ${version}`
        : running ?? version}
    </Text>
  );
};

/** The observed phase, or the Git lifecycle of a cluster the control plane never managed. */
export const PhaseCell = (props: { cluster: FleetCluster }) => {
  const { observed, lifecycle } = props.cluster;
  return (
    <Flex direction="column" gap="1">
      <StateBadge state={observed?.phase ?? lifecycle} />
      {observed ? (
        <Text variant="body-x-small" color="secondary">
          {observed.nodesReady} of {observed.nodesTotal} nodes ready
        </Text>
      ) : (
        <Text variant="body-x-small" color="secondary">
          not managed: declared in Git only
        </Text>
      )}
    </Flex>
  );
};

/** A time as the window's zone reads it: `Sat 12 Dec, 02:00`. */
export function windowTime(iso: string, timeZone: string): string {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return iso;
  try {
    return new Intl.DateTimeFormat('en-GB', {
      timeZone,
      weekday: 'short',
      day: 'numeric',
      month: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    }).format(at);
  } catch {
    return iso;
  }
}

/**
 * The upgrade channel, the maintenance window upgrades wait for, and when it next opens.
 */
export const ChannelCell = (props: { cluster: FleetCluster }) => {
  const {
    channel,
    maintenanceWindow: w,
    nextMaintenanceWindow,
  } = props.cluster;
  return (
    <Flex direction="column" gap="1">
      <Text variant="body-small">{channel ?? 'manual upgrades'}</Text>
      <Text variant="body-x-small" color="secondary">
        {w
          ? `window ${w.days.join(', ')} ${w.start} for ${
              Math.round(w.durationMinutes / 6) / 10
            } h (${w.timeZone})`
          : 'no window: upgrades at any time'}
      </Text>
      {w && nextMaintenanceWindow && (
        <Text variant="body-x-small" color="secondary">
          next: {windowTime(nextMaintenanceWindow, w.timeZone)}
        </Text>
      )}
    </Flex>
  );
};

/** A line of the health score over time: an inline SVG, named by its first and last score. */
export const HealthTrend = (props: {
  name: string;
  series: { at: string; score: number }[];
}) => {
  const { series } = props;
  if (series.length < 2) {
    return (
      <Text variant="body-x-small" color="secondary">
        no trend yet
      </Text>
    );
  }
  const width = 96;
  const height = 24;
  const points = series
    .map(
      (s, i) =>
        `${Math.round((i / (series.length - 1)) * width)},${Math.round(
          height - (s.score / 100) * height,
        )}`,
    )
    .join(' ');
  return (
    <svg
      role="img"
      aria-label={`Health of ${props.name} over 24 hours: ${
        series[0].score
      } to ${series[series.length - 1].score}`}
      width={width}
      height={height}
      viewBox={`0 0 ${width} ${height}`}
    >
      <polyline
        points={points}
        fill="none"
        stroke="currentColor"
        strokeWidth={1.5}
      />
    </svg>
  );
};

/** The score, its weakest factor, and its trend (read when the cluster is managed). */
export const HealthCell = (props: { cluster: FleetCluster }) => {
  const api = useApi(controlPlaneApiRef);
  const { health, observed, id } = props.cluster;
  const history = useAsync(
    async () => (observed ? api.clusterHealth(id) : undefined),
    [api, id, observed],
  );
  if (!health) return <Text variant="body-small">—</Text>;
  const weakest = [...health.breakdown].sort((a, b) => a.score - b.score)[0];
  return (
    <Flex direction="column" gap="1">
      <Text variant="body-small" aria-label={`Health score of ${id}`}>
        {health.score}/100
      </Text>
      {weakest && weakest.score < 1 && (
        <Text variant="body-x-small" color="secondary">
          {weakest.factor}: {weakest.detail}
        </Text>
      )}
      {history.value && <HealthTrend name={id} series={history.value.series} />}
    </Flex>
  );
};

/** The lifecycle operation under way, with its steps. */
export const OperationCell = (props: { cluster: FleetCluster }) => {
  const op = props.cluster.operations?.[0];
  if (!op) return <Text variant="body-small">—</Text>;
  const notBefore =
    op.state === 'pending' && typeof op.params.notBefore === 'string'
      ? op.params.notBefore
      : undefined;
  const zone = props.cluster.maintenanceWindow?.timeZone ?? 'UTC';
  return (
    <Flex direction="column" gap="1">
      <Text variant="body-small">
        {op.type} ({op.state})
      </Text>
      {notBefore && (
        <Text variant="body-x-small" color="secondary">
          waits for its window: {windowTime(notBefore, zone)}
        </Text>
      )}
      <ol aria-label={`Steps of ${op.type} of ${props.cluster.id}`}>
        {op.steps.map(s => (
          <li key={s.name}>
            <Text variant="body-x-small">
              {marks[s.state] ?? '?'} {s.name}
            </Text>
          </li>
        ))}
      </ol>
    </Flex>
  );
};

/** Drain, return to service and decommission, for those who may manage clusters. */
export const ClusterActions = (props: {
  cluster: FleetCluster;
  ask: (action: {
    title: string;
    confirmLabel: string;
    destructive?: boolean;
    description: string;
    run: () => Promise<string>;
  }) => void;
}) => {
  const api = useApi(controlPlaneApiRef);
  const c = props.cluster;
  const busy = (c.operations ?? []).length > 0;
  const placed = c.usage.resources;
  const drained = c.observed?.phase === 'Draining' && !busy;
  return (
    // the table is wide: the buttons wrap rather than overflow it
    <Flex gap="1" style={{ flexWrap: 'wrap' }}>
      {drained && (
        <Button
          size="small"
          variant="secondary"
          onPress={() =>
            props.ask({
              title: `Return ${c.id} to service?`,
              confirmLabel: 'Return to service',
              description: `${c.id} leaves Draining for Ready: new resources may be placed on it again. Nothing moves back by itself.`,
              run: async () => {
                await api.uncordonCluster(c.id);
                return `${c.id} is back in service`;
              },
            })
          }
        >
          Return to service
        </Button>
      )}
      {/* drained already: it returns to service or goes */}
      {!drained && (
        <Button
          size="small"
          variant="secondary"
          isDisabled={busy}
          onPress={() =>
            props.ask({
              title: `Drain ${c.id}?`,
              confirmLabel: 'Drain',
              description: `Nothing new is placed on ${c.id}, and the ${placed} resource(s) on it move to other clusters of ${c.cell}, what others depend on first.`,
              run: async () => {
                const op = await api.drainCluster(c.id);
                return `Drain of ${c.id} started (${op?.id})`;
              },
            })
          }
        >
          Drain
        </Button>
      )}
      <Button
        size="small"
        variant="secondary"
        isDisabled={busy || placed > 0}
        onPress={() =>
          props.ask({
            title: `Decommission ${c.id}?`,
            confirmLabel: 'Decommission',
            destructive: true,
            description: `${c.id} is deleted by its driver and its manifest removed from Git.`,
            run: async () => {
              const op = await api.decommissionCluster(c.id);
              return `Decommission of ${c.id} started (${op?.id})`;
            },
          })
        }
      >
        Decommission
      </Button>
    </Flex>
  );
};

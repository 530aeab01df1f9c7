import { useApi } from '@backstage/frontend-plugin-api';
import { Flex, Link, Text } from '@backstage/ui';
import useAsync from 'react-use/esm/useAsync';
import { controlPlaneApiRef } from '../../api';
import {
  AsyncView,
  DataTable,
  formatMoney,
  formatTime,
  StateBadge,
  UsageMeter,
  useControlPlaneLink,
} from '../common';

/** The resource's state transitions: who moved it, when and why. */
export const StateHistory = (props: { resourceRef: string; tick: number }) => {
  const api = useApi(controlPlaneApiRef);
  const { value, loading, error } = useAsync(
    () => api.history(props.resourceRef),
    [api, props.resourceRef, props.tick],
  );
  const controlPlaneLink = useControlPlaneLink();
  return (
    <AsyncView
      what="the state history"
      loading={loading}
      error={error}
      value={value}
      isEmpty={v => v.transitions.length === 0}
      empty={{
        title: 'No history yet',
        description: (
          <>
            The control plane records the first transition when it picks the
            resource up, usually within seconds. If none appears, look for a
            failed operation above, and check on the{' '}
            <Link href={controlPlaneLink}>Control Plane page</Link> that the
            control plane is healthy and migrated.
          </>
        ),
      }}
    >
      {h => (
        <DataTable
          caption="History"
          columns={[
            { title: 'When', render: t => formatTime(t.at) },
            {
              title: 'Transition',
              render: t => (
                <Flex gap="1" align="center">
                  {t.from ? <StateBadge state={t.from} /> : 'new'} →{' '}
                  <StateBadge state={t.to} />
                </Flex>
              ),
            },
            { title: 'By', render: t => t.actor },
            { title: 'Why', render: t => t.reason },
          ]}
          rows={[...h.transitions].reverse()}
          rowKey={t => `${t.at}-${t.to}-${t.operationId ?? ''}`}
        />
      )}
    </AsyncView>
  );
};

/** Why the scheduler put the resource where it is. */
export const PlacementExplanationView = (props: {
  resourceRef: string;
  tick: number;
}) => {
  const api = useApi(controlPlaneApiRef);
  const { value, loading, error } = useAsync(
    () => api.placement(props.resourceRef),
    [api, props.resourceRef, props.tick],
  );
  return (
    <AsyncView
      what="the placement"
      loading={loading}
      error={error}
      value={value}
      empty={{
        title: 'No placement explanation',
        description:
          'The resource has not been placed yet, or this control plane does not explain placements. Once scheduled, the candidates and their scores show here.',
      }}
    >
      {p => (
        <Flex direction="column" gap="2">
          <Text as="p">{p.explanation}</Text>
          {p.selected && (
            <Text as="p" variant="body-small">
              Placed on <strong>{p.selected.cluster}</strong> (
              {p.selected.provider}, {p.selected.region}, cell {p.selected.cell}
              , zones {p.selected.zones.join(', ')}) at{' '}
              {formatTime(p.decidedAt)} in {Math.round(p.durationMs)} ms
              {p.experiment &&
                ` — experiment ${p.experiment.id}, arm ${p.experiment.arm}`}
            </Text>
          )}
          <DataTable
            caption="Placement candidates"
            columns={[
              { title: 'Cluster', render: c => c.cluster },
              { title: 'Provider', render: c => c.provider },
              {
                title: 'Score',
                render: c =>
                  c.total !== undefined ? c.total.toFixed(3) : 'rejected',
              },
              {
                title: 'Scores',
                render: c =>
                  c.scores
                    ? Object.entries(c.scores)
                        .map(([k, v]) => `${k} ${v.toFixed(2)}`)
                        .join(', ')
                    : '—',
              },
              {
                title: 'Rejected by',
                render: c =>
                  c.rejected.length
                    ? c.rejected.map(r => `${r.filter}: ${r.reason}`).join('; ')
                    : '—',
              },
            ]}
            rows={p.candidates}
            rowKey={c => c.cluster}
          />
          <Text variant="body-small" color="secondary">
            Weights:{' '}
            {Object.entries(p.weights)
              .map(([k, v]) => `${k} ${v}`)
              .join(', ')}
          </Text>
        </Flex>
      )}
    </AsyncView>
  );
};

/** What the resource costs this month, against the budget it counts toward. */
export const CostView = (props: { resourceRef: string; tick: number }) => {
  const api = useApi(controlPlaneApiRef);
  const { value, loading, error } = useAsync(
    () => api.cost(props.resourceRef),
    [api, props.resourceRef, props.tick],
  );
  return (
    <AsyncView
      what="the cost"
      loading={loading}
      error={error}
      value={value}
      empty={{
        title: 'No cost data',
        description:
          'This control plane does not report costs yet. Ask your platform team to enable cost reporting.',
      }}
    >
      {c => (
        <Flex direction="column" gap="2">
          <Text as="p">
            This month so far:{' '}
            <strong>{formatMoney(c.monthToDate, c.currency)}</strong> of an
            estimated {formatMoney(c.monthlyEstimate, c.currency)}
          </Text>
          {c.budget ? (
            <UsageMeter
              label={`Budget ${c.budget.quota}`}
              used={c.budget.used}
              limit={c.budget.limit}
              format={n => formatMoney(n, c.currency)}
            />
          ) : (
            <Text variant="body-small" color="secondary">
              No budget applies to this resource.
            </Text>
          )}
        </Flex>
      )}
    </AsyncView>
  );
};

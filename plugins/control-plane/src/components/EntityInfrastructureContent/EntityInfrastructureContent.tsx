import { Entity, stringifyEntityRef } from '@backstage/catalog-model';
import { useApi } from '@backstage/frontend-plugin-api';
import { useEntity } from '@backstage/plugin-catalog-react';
import { Button, ButtonLink, Flex, Grid, Text } from '@backstage/ui';
import { Resource } from '@idp-multicloud/sdk';
import { useEffect, useMemo, useState } from 'react';
import useAsync from 'react-use/esm/useAsync';
import useAsyncRetry from 'react-use/esm/useAsyncRetry';
import useInterval from 'react-use/esm/useInterval';
import { controlPlaneApiRef, ResourceFilter } from '../../api';
import {
  AsyncView,
  DataTable,
  Section,
  StateBadge,
  useSelfServiceLink,
  useSimulatedProviders,
} from '../common';
import { ChangeHistory } from './ChangeHistory';
import { DeliveryStatus } from './DeliveryStatus';
import { DependencyGraph } from './DependencyGraph';
import { DeploymentPanel } from './DeploymentPanel';
import { OperationTimeline } from './OperationTimeline';
import { QuotaUsageView } from './QuotaUsageView';
import { ResourceActions } from './ResourceActions';
import {
  CostView,
  PlacementExplanationView,
  StateHistory,
} from './ResourceFacts';
import { streamsToOpen, useLiveStates } from './useLiveStates';
import { VersionsTable } from './VersionsTable';

/**
 * Which resources belong on an entity's page: a group's are those it owns; a component's or
 * system's are those that serve it (`spec.component`, which the catalog module also turns
 * into `dependencyOf`).
 */
export function resourceFilterFor(entity: Entity): ResourceFilter {
  const ref = stringifyEntityRef(entity);
  return entity.kind.toLocaleLowerCase('en-US') === 'group'
    ? { owner: ref }
    : { component: ref };
}

/** How often the list is reloaded, for resources whose event stream is not followed. */
const REFRESH_MS = 30_000;

const ResourceDetails = (props: {
  resource: Resource;
  state: string;
  tick: number;
  products?: Parameters<typeof ResourceActions>[0]['product'][];
  onChanged: () => void;
}) => {
  const { resource, tick } = props;
  const [actionTick, setActionTick] = useState(0);
  const t = tick + actionTick;
  const changed = () => {
    setActionTick(n => n + 1);
    props.onChanged();
  };
  return (
    <Section
      title={`${resource.metadata.name} (${resource.spec.product}, ${resource.spec.tier})`}
    >
      <Flex direction="column" gap="4">
        <Flex gap="2" align="center">
          <StateBadge state={props.state} />
          <Text variant="body-small" color="secondary">
            {resource.ref} · owner {resource.spec.owner}
            {resource.spec.component && ` · serves ${resource.spec.component}`}
          </Text>
        </Flex>
        <DeliveryStatus resourceRef={resource.ref} tick={t} />
        <ResourceActions
          resource={resource}
          state={props.state}
          product={props.products?.find(p => p?.id === resource.spec.product)}
          onChanged={changed}
        />
        <DeploymentPanel resource={resource} tick={t} onChanged={changed} />
        <Grid.Root columns={{ initial: '1', md: '2' }} gap="4">
          <Section title="Placement" level={3}>
            <PlacementExplanationView resourceRef={resource.ref} tick={t} />
          </Section>
          <Section title="Cost this month" level={3}>
            <CostView resourceRef={resource.ref} tick={t} />
          </Section>
        </Grid.Root>
        <Section title="Operations" level={3}>
          <OperationTimeline resourceRef={resource.ref} tick={t} />
        </Section>
        <Section title="State history" level={3}>
          <StateHistory resourceRef={resource.ref} tick={t} />
        </Section>
        <Section title="Changes in Git" level={3}>
          <ChangeHistory resource={resource} tick={t} onChanged={changed} />
        </Section>
      </Flex>
    </Section>
  );
};

/** The entity's "Infrastructure" tab. */
export const EntityInfrastructureContent = () => {
  const { entity } = useEntity();
  const api = useApi(controlPlaneApiRef);
  const filter = useMemo(() => resourceFilterFor(entity), [entity]);
  const {
    value: resources,
    loading,
    error,
    retry,
  } = useAsyncRetry(() => api.listResources(filter), [api, filter]);
  const products = useAsync(() => api.products(), [api]);
  const [selectedRef, setSelectedRef] = useState<string>();

  useEffect(() => {
    if (resources?.length && !resources.some(r => r.ref === selectedRef)) {
      setSelectedRef(resources[0].ref);
    }
  }, [resources, selectedRef]);
  useInterval(retry, REFRESH_MS);

  const followed = useMemo(
    () => streamsToOpen(resources ?? [], selectedRef),
    [resources, selectedRef],
  );
  const live = useLiveStates(followed);
  const stateOf = (r: Resource) => live.states[r.ref] ?? r.status.state;
  const selected = resources?.find(r => r.ref === selectedRef);
  const kind = entity.kind.toLocaleLowerCase('en-US');
  const entityName = entity.metadata.title ?? entity.metadata.name;
  const selfServiceLink = useSelfServiceLink();
  const simulated = useSimulatedProviders();

  return (
    <Flex direction="column" gap="4">
      <Section
        title="Resources"
        actions={
          <ButtonLink href={selfServiceLink} variant="secondary" size="small">
            Request infrastructure
          </ButtonLink>
        }
      >
        <AsyncView
          what="resources"
          loading={loading}
          error={error}
          value={resources}
          isEmpty={v => v.length === 0}
          empty={{
            title: `No infrastructure for ${entityName} yet`,
            description:
              kind === 'group'
                ? 'Resources this team owns appear here. Request a database, cache or service from the self-service catalog.'
                : `Resources whose component is ${stringifyEntityRef(
                    entity,
                  )} appear here. Request one from the self-service catalog and name this ${kind} as its component.`,
            action: (
              <ButtonLink href={selfServiceLink} variant="primary">
                Open the self-service catalog
              </ButtonLink>
            ),
          }}
        >
          {items => (
            <DataTable
              caption={`Resources of ${entityName}`}
              rows={items}
              rowKey={r => r.ref}
              rowLabel={r => r.metadata.name}
              selectedKey={selectedRef}
              columns={[
                {
                  title: 'Name',
                  render: r => (
                    <Button
                      variant="tertiary"
                      size="small"
                      aria-pressed={r.ref === selectedRef}
                      aria-label={`Show ${r.metadata.name}`}
                      onPress={() => setSelectedRef(r.ref)}
                    >
                      {r.metadata.namespace === 'default'
                        ? r.metadata.name
                        : `${r.metadata.namespace}/${r.metadata.name}`}
                    </Button>
                  ),
                },
                { title: 'Product', render: r => r.spec.product },
                { title: 'Tier', render: r => r.spec.tier },
                { title: 'Cell', render: r => r.spec.cell },
                {
                  title: 'Provider / cluster',
                  render: r =>
                    r.status.placement ? (
                      <Flex direction="column" gap="1">
                        <Text variant="body-small">
                          {r.status.placement.provider} /{' '}
                          {r.status.placement.cluster}
                        </Text>
                        {simulated?.has(r.status.placement.provider) && (
                          <Text variant="body-x-small" color="secondary">
                            simulated: not a real cloud
                          </Text>
                        )}
                      </Flex>
                    ) : (
                      'not placed yet'
                    ),
                },
                { title: 'Version', render: r => r.status.version ?? '—' },
                {
                  title: 'State',
                  render: r => (
                    <Flex direction="column" gap="1">
                      <StateBadge state={stateOf(r)} />
                      {(live.lastEvent[r.ref]?.message ?? r.status.reason) && (
                        <Text variant="body-x-small" color="secondary">
                          {live.lastEvent[r.ref]?.message ?? r.status.reason}
                        </Text>
                      )}
                    </Flex>
                  ),
                },
              ]}
            />
          )}
        </AsyncView>
      </Section>

      {kind !== 'group' && resources && resources.length > 0 && (
        <Section title="Which version runs where">
          <VersionsTable
            component={stringifyEntityRef(entity)}
            tick={Object.values(live.ticks).reduce((a, b) => a + b, 0)}
          />
        </Section>
      )}

      {resources && resources.length > 0 && (
        <Section title="Dependency graph">
          <DependencyGraph resources={resources} states={live.states} />
        </Section>
      )}

      {selected && (
        <ResourceDetails
          resource={selected}
          state={stateOf(selected)}
          tick={live.ticks[selected.ref] ?? 0}
          products={products.value}
          onChanged={retry}
        />
      )}

      {resources && resources.length > 0 && (
        <Section title="Quota usage">
          <QuotaUsageView
            scopes={{
              teams: [
                ...new Set([
                  ...(kind === 'group' ? [stringifyEntityRef(entity)] : []),
                  ...resources.map(r => r.spec.owner),
                ]),
              ],
              cells: [...new Set(resources.map(r => r.spec.cell))],
              namespaces: [
                ...new Set(resources.map(r => r.metadata.namespace)),
              ],
            }}
          />
        </Section>
      )}
    </Flex>
  );
};

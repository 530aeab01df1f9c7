import { useApi } from '@backstage/frontend-plugin-api';
import { usePermission } from '@backstage/plugin-permission-react';
import {
  DeploymentAction,
  isDeploymentOver,
  resourceOperatePermission,
  resourceUpdatePermission,
} from '@idp-multicloud/plugin-control-plane-common';
import { Resource, Schemas } from '@idp-multicloud/sdk';
import { Button, Flex, Text } from '@backstage/ui';
import { lazy, Suspense, useState } from 'react';
import useAsync from 'react-use/esm/useAsync';
import useInterval from 'react-use/esm/useInterval';
import { controlPlaneApiRef } from '../../api';
import { AsyncView, DataTable, formatTime, Section } from '../common';
import {
  DeploymentSteps,
  DeploymentWeights,
  formatDuration,
  PhaseBadge,
} from './DeploymentView';
import { PendingAction, useConfirmedAction } from './ResourceActions';

type Deployment = Schemas['Deployment'];

// The plots (and recharts) load with the first deployment shown, not with the tab.
const DeploymentAnalysis = lazy(() =>
  import('./DeploymentAnalysis').then(m => ({ default: m.DeploymentAnalysis })),
);

/** How often a deployment in progress is reloaded, besides the resource's events. */
export const DEPLOYMENT_REFRESH_MS = 2_000;

const isLive = (d?: Deployment) => !!d && !isDeploymentOver(d.phase);

/** The actions on a running deployment the user's permissions allow, each confirmed. */
const DeploymentActions = (props: {
  deployment: Deployment;
  resourceRef: string;
  ask: (action: PendingAction) => void;
}) => {
  const { deployment: d, ask } = props;
  const api = useApi(controlPlaneApiRef);
  const operate = usePermission({
    permission: resourceOperatePermission,
    resourceRef: props.resourceRef,
  });
  if (operate.loading || !isLive(d)) return null;
  if (!operate.allowed) {
    return (
      <Text as="p" variant="body-small" color="secondary">
        You may follow this deployment but not act on it.
      </Text>
    );
  }
  const step = d.steps[d.currentStep];
  const rollout = `${d.fromVersion} → ${d.toVersion}`;
  const act = (
    action: DeploymentAction,
    title: string,
    description: string,
    options: { full?: boolean; destructive?: boolean; label: string },
  ) => (
    <Button
      key={`${action}${options.full ? '-full' : ''}`}
      variant="secondary"
      size="small"
      destructive={options.destructive}
      onPress={() =>
        ask({
          title,
          confirmLabel: options.label,
          destructive: options.destructive,
          description,
          run: async () => {
            const after = await api.actOnDeployment(d.id, action, {
              full: options.full,
            });
            return `${options.label} of ${rollout} accepted: ${after.phase}`;
          },
        })
      }
    >
      {options.label}
    </Button>
  );
  const buttons = [];
  if (step?.kind === 'pause' || d.phase === 'Paused') {
    buttons.push(
      act(
        'promote',
        `Promote ${rollout}?`,
        `The pause ends and the deployment goes on with its next step (${
          d.steps[d.currentStep + 1]?.description ?? 'the end'
        }).`,
        { label: 'Promote' },
      ),
    );
  }
  if (step?.kind === 'approval') {
    buttons.push(
      act(
        'approve',
        `Approve ${rollout}?`,
        `You approve "${step.description}" as a member of its group; the deployment goes on.`,
        { label: 'Approve' },
      ),
    );
  }
  buttons.push(
    act(
      'promote',
      `Promote ${rollout} fully?`,
      `Every step left is skipped, analyses too: ${d.toVersion} takes all traffic at once.`,
      { label: 'Promote fully', full: true },
    ),
  );
  if (d.phase === 'Paused') {
    buttons.push(
      act(
        'resume',
        `Resume ${rollout}?`,
        'The deployment goes on from the step it paused at.',
        { label: 'Resume' },
      ),
    );
  } else {
    buttons.push(
      act(
        'pause',
        `Pause ${rollout}?`,
        'The deployment holds at its next step, the traffic split as it is, until resumed.',
        { label: 'Pause' },
      ),
    );
  }
  buttons.push(
    act(
      'abort',
      `Abort ${rollout}?`,
      `Traffic goes back to ${d.fromVersion} and ${d.toVersion} is scaled down. The deployment ends as Aborted.`,
      { label: 'Abort', destructive: true },
    ),
  );
  return (
    <Flex gap="2" style={{ flexWrap: 'wrap' }}>
      {buttons}
    </Flex>
  );
};

/** The newest deployment in full: phase, steps, traffic, analysis, actions. */
const DeploymentDetails = (props: {
  deployment: Deployment;
  resourceRef: string;
  ask: (action: PendingAction) => void;
}) => {
  const { deployment: d } = props;
  return (
    <Flex direction="column" gap="3">
      <Flex gap="2" align="center" style={{ flexWrap: 'wrap' }}>
        <Text variant="body-medium" weight="bold">
          {d.fromVersion} → {d.toVersion}
        </Text>
        <PhaseBadge phase={d.phase} />
        <Text variant="body-small" color="secondary">
          {d.strategy} · started by {d.actor} at {formatTime(d.startedAt)}
          {d.durationMs !== undefined &&
            ` · took ${formatDuration(d.durationMs)}`}
        </Text>
      </Flex>
      {d.message && (
        <Text as="p" variant="body-small">
          {d.message}
        </Text>
      )}
      <DeploymentActions
        deployment={d}
        resourceRef={props.resourceRef}
        ask={props.ask}
      />
      <Flex gap="4" style={{ flexWrap: 'wrap' }} align="start">
        <div style={{ minWidth: 260 }}>
          <Text variant="body-small" weight="bold">
            Steps
          </Text>
          <DeploymentSteps deployment={d} />
        </div>
        <div style={{ flex: 1, minWidth: 260 }}>
          <Text variant="body-small" weight="bold">
            Traffic
          </Text>
          <DeploymentWeights deployment={d} />
        </div>
      </Flex>
      <Text as="h4" variant="body-medium" weight="bold">
        Analysis
      </Text>
      <Suspense
        fallback={
          <Text variant="body-small" color="secondary">
            Loading the analysis…
          </Text>
        }
      >
        <DeploymentAnalysis deployment={d} />
      </Suspense>
    </Flex>
  );
};

/**
 * The versions a user may roll back to from the history: both ends of every succeeded
 * deployment except the running version, each offered once (on its newest row).
 */
export function rollbackTargets(
  history: Deployment[],
  running: string | undefined,
): Map<string, string> {
  const offered = new Map<string, string>();
  for (const d of history) {
    if (d.phase !== 'Succeeded') continue;
    for (const version of [d.toVersion, d.fromVersion]) {
      if (version !== running && !offered.has(version)) {
        offered.set(version, d.id);
      }
    }
  }
  return offered;
}

/** Every deployment of the resource: from → to, strategy, outcome, who, how long. */
const DeploymentHistory = (props: {
  history: Deployment[];
  resource: Resource;
  ask: (action: PendingAction) => void;
}) => {
  const { resource, ask } = props;
  const api = useApi(controlPlaneApiRef);
  const update = usePermission({
    permission: resourceUpdatePermission,
    resourceRef: resource.ref,
  });
  const running = resource.status.version;
  const targets = rollbackTargets(props.history, running);
  const busy = props.history.some(isLive);
  return (
    <DataTable
      caption="Deployment history"
      rows={props.history}
      rowKey={d => d.id}
      rowLabel={d => `${d.fromVersion} → ${d.toVersion} ${d.phase}`}
      columns={[
        { title: 'Version', render: d => `${d.fromVersion} → ${d.toVersion}` },
        { title: 'Strategy', render: d => d.strategy },
        {
          title: 'Outcome',
          render: d => (
            <Flex direction="column" gap="1">
              <PhaseBadge phase={d.phase} />
              {d.message && (
                <Text variant="body-x-small" color="secondary">
                  {d.message}
                </Text>
              )}
            </Flex>
          ),
        },
        { title: 'By', render: d => d.actor },
        { title: 'Started', render: d => formatTime(d.startedAt) },
        {
          title: 'Duration',
          render: d =>
            isLive(d) ? 'in progress' : formatDuration(d.durationMs),
        },
        {
          title: 'Roll back',
          render: d => {
            const versions = [...targets]
              .filter(([, id]) => id === d.id)
              .map(([v]) => v);
            if (!update.allowed || busy || versions.length === 0) return null;
            return (
              <Flex gap="1" style={{ flexWrap: 'wrap' }}>
                {versions.map(version => (
                  <Button
                    key={version}
                    variant="secondary"
                    size="small"
                    onPress={() =>
                      ask({
                        title: `Roll ${resource.metadata.name} back to ${version}?`,
                        confirmLabel: `Roll back to ${version}`,
                        destructive: true,
                        description: `${version} is deployed again in place of ${
                          running ?? 'the running version'
                        }, with ${resource.metadata.name}'s rollout strategy.`,
                        run: async () => {
                          await api.rollback(resource.ref, version);
                          return `Rollback of ${resource.metadata.name} to ${version} requested`;
                        },
                      })
                    }
                  >
                    Roll back to {version}
                  </Button>
                ))}
              </Flex>
            );
          },
        },
      ]}
    />
  );
};

/**
 * A resource's deployments on the Infrastructure tab: the newest in full (its steps, traffic,
 * analysis and actions), reloaded while it runs, and the version history below.
 */
export const DeploymentPanel = (props: {
  resource: Resource;
  /** Bumped on every event of the resource (the tab's live-state hook). */
  tick: number;
  onChanged: () => void;
}) => {
  const { resource, tick } = props;
  const api = useApi(controlPlaneApiRef);
  const [poll, setPoll] = useState(0);
  const { ask, dialog, outcomeAlert } = useConfirmedAction(() => {
    setPoll(n => n + 1);
    props.onChanged();
  });
  const list = useAsync(
    () => api.deployments(resource.ref),
    [api, resource.ref, tick, poll],
  );
  const newest = list.value?.[0];
  const live = isLive(newest);
  const detail = useAsync(
    async () => (newest ? api.deployment(newest.id) : undefined),
    [api, newest?.id, newest?.phase, newest?.currentStep, tick, poll],
  );
  useInterval(() => setPoll(n => n + 1), live ? DEPLOYMENT_REFRESH_MS : null);
  const shown = detail.value?.id === newest?.id ? detail.value : undefined;
  // the newest deployment is listed but its details (with samples) are not loaded yet
  const pending = !!newest && !shown;

  return (
    <>
      <Section
        title={live ? 'Deployment in progress' : 'Latest deployment'}
        level={3}
      >
        <Flex direction="column" gap="2">
          {outcomeAlert}
          <AsyncView
            what="the deployments"
            loading={list.loading || (pending && !detail.error)}
            error={list.error ?? detail.error}
            value={
              list.value === undefined || pending ? undefined : shown ?? null
            }
            isEmpty={v => v === null}
            empty={{
              title: 'No deployment yet',
              description: `A change of ${resource.metadata.name}'s version starts a deployment: its steps, traffic split and analysis appear here.`,
            }}
          >
            {d =>
              d && (
                <DeploymentDetails
                  deployment={d}
                  resourceRef={resource.ref}
                  ask={ask}
                />
              )
            }
          </AsyncView>
        </Flex>
      </Section>
      {list.value && list.value.length > 0 && (
        <Section title="Deployment history" level={3}>
          <DeploymentHistory
            history={list.value}
            resource={resource}
            ask={ask}
          />
        </Section>
      )}
      {dialog}
    </>
  );
};

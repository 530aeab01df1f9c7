import { Schemas } from '@idp-multicloud/sdk';
import { Badge, Flex, Text } from '@backstage/ui';
import { formatTime } from '../common';

type Deployment = Schemas['Deployment'];
type Step = Deployment['steps'][number];

const phaseTone: Record<string, string> = {
  Progressing: '#0277bd',
  Paused: '#ed6c02',
  Succeeded: '#2e7d32',
  RolledBack: '#d32f2f',
  Aborted: '#6a1b9a',
  Failed: '#d32f2f',
};

/** A deployment's phase as a badge. */
export const PhaseBadge = (props: { phase: string }) => (
  <Badge
    size="small"
    aria-label={`Phase: ${props.phase}`}
    style={{ borderLeft: `4px solid ${phaseTone[props.phase] ?? '#9e9e9e'}` }}
  >
    {props.phase}
  </Badge>
);

/** A duration as people read it: 42 s, 3 min 5 s, 2 h 10 min. */
export function formatDuration(ms: number | undefined): string {
  if (ms === undefined) return '—';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

const stepMark: Record<Step['state'], string> = {
  pending: '○',
  running: '▶',
  succeeded: '✓',
  failed: '✗',
  compensated: '↺',
};

const stepTime = (step: Step) => {
  if (step.finishedAt) return ` · ${formatTime(step.finishedAt)}`;
  if (step.startedAt) return ` · since ${formatTime(step.startedAt)}`;
  return '';
};

/** The steps of a deployment, in order, each with its state; the one in progress marked. */
export const DeploymentSteps = (props: { deployment: Deployment }) => {
  const { deployment } = props;
  const live =
    deployment.phase === 'Progressing' || deployment.phase === 'Paused';
  return (
    <ol
      aria-label="Steps"
      style={{ margin: 0, paddingLeft: 0, listStyle: 'none' }}
    >
      {deployment.steps.map(step => {
        const current = live && step.index === deployment.currentStep;
        return (
          <li
            key={step.index}
            aria-current={current ? 'step' : undefined}
            aria-label={`${step.description}: ${step.state}`}
            style={{
              padding: '2px 6px',
              fontWeight: current ? 600 : undefined,
              background: current
                ? 'var(--bui-bg-neutral-2, rgba(0,0,0,0.05))'
                : undefined,
            }}
          >
            <Text variant="body-small">
              <span aria-hidden="true">{stepMark[step.state]} </span>
              {step.description}
              {step.wave !== undefined && ` · wave ${step.wave + 1}`}
              {step.cells?.length ? ` (${step.cells.join(', ')})` : ''}
            </Text>{' '}
            <Text variant="body-x-small" color="secondary">
              {step.state}
              {stepTime(step)}
            </Text>
          </li>
        );
      })}
    </ol>
  );
};

/** One bar: the new version's share of traffic against the stable one's. */
const WeightBar = (props: {
  label: string;
  weight: number;
  fromVersion: string;
  toVersion: string;
}) => {
  const { weight, fromVersion, toVersion } = props;
  const text = `${weight} % on ${toVersion} (new) · ${
    100 - weight
  } % on ${fromVersion} (stable)`;
  return (
    <Flex direction="column" gap="1">
      <Text variant="body-small">
        {props.label}: {text}
      </Text>
      <div
        role="img"
        aria-label={`Traffic${
          props.label === 'All traffic' ? '' : ` in ${props.label}`
        }: ${text}`}
        style={{
          display: 'flex',
          height: 14,
          borderRadius: 3,
          overflow: 'hidden',
          border: '1px solid var(--bui-border, #ccc)',
        }}
      >
        <div style={{ width: `${weight}%`, background: '#d32f2f' }} />
        <div style={{ width: `${100 - weight}%`, background: '#1565c0' }} />
      </div>
    </Flex>
  );
};

/** The traffic split: one bar, or one per cell when the rollout goes in waves. */
export const DeploymentWeights = (props: { deployment: Deployment }) => {
  const { deployment } = props;
  const cells = Object.entries(deployment.weights.cells ?? {});
  const header = deployment.weights.headerMatch;
  return (
    <Flex direction="column" gap="2">
      {cells.length > 0 ? (
        cells.map(([cell, weight]) => (
          <WeightBar
            key={cell}
            label={cell}
            weight={weight}
            fromVersion={deployment.fromVersion}
            toVersion={deployment.toVersion}
          />
        ))
      ) : (
        <WeightBar
          label="All traffic"
          weight={deployment.weights.canary}
          fromVersion={deployment.fromVersion}
          toVersion={deployment.toVersion}
        />
      )}
      {header && (
        <Text variant="body-x-small" color="secondary">
          Requests with the header {header.name}: {header.value} reach{' '}
          {deployment.toVersion}.
        </Text>
      )}
    </Flex>
  );
};

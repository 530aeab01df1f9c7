import {
  EmptyState,
  Progress,
  ResponseErrorPanel,
} from '@backstage/core-components';
import {
  Badge,
  Card,
  CardBody,
  CardHeader,
  Flex,
  Text,
  VisuallyHidden,
} from '@backstage/ui';
import { ReactNode } from 'react';

/** A card with a heading (level 2 by default) that names its region for assistive tech. */
export const Section = (props: {
  title: string;
  level?: 2 | 3;
  actions?: ReactNode;
  children: ReactNode;
}) => {
  const id = `section-${props.title
    .toLocaleLowerCase('en-US')
    .replace(/[^a-z0-9]+/g, '-')}`;
  return (
    <Card>
      <CardHeader>
        <Flex justify="between" align="center">
          <Text
            as={props.level === 3 ? 'h3' : 'h2'}
            variant="title-small"
            id={id}
          >
            {props.title}
          </Text>
          {props.actions}
        </Flex>
      </CardHeader>
      <CardBody>
        <section aria-labelledby={id}>{props.children}</section>
      </CardBody>
    </Card>
  );
};

/** Loading, error and empty states around one piece of async data. */
export function AsyncView<T>(props: {
  what: string;
  loading: boolean;
  error?: Error;
  value?: T;
  isEmpty?: (value: T) => boolean;
  empty: {
    title: string;
    description: string | JSX.Element;
    action?: JSX.Element;
  };
  children: (value: T) => ReactNode;
}) {
  if (props.loading && props.value === undefined) {
    return (
      <div aria-busy="true">
        <VisuallyHidden>Loading {props.what}…</VisuallyHidden>
        <Progress />
      </div>
    );
  }
  if (props.error) {
    return (
      <ResponseErrorPanel
        error={props.error}
        title={`Could not load ${props.what}`}
      />
    );
  }
  if (
    props.value === undefined ||
    (props.isEmpty && props.isEmpty(props.value))
  ) {
    return (
      <EmptyState
        missing="data"
        title={props.empty.title}
        description={props.empty.description}
        action={props.empty.action}
      />
    );
  }
  return <>{props.children(props.value)}</>;
}

const stateTone: Record<string, string> = {
  READY: '#2e7d32',
  DEGRADED: '#ed6c02',
  FAILED: '#d32f2f',
  PENDING: '#616161',
  PROVISIONING: '#0277bd',
  DELETING: '#6a1b9a',
  DELETED: '#616161',
};

/** A resource's (or operation's) state as a badge. */
export const StateBadge = (props: { state: string }) => (
  <Badge
    size="small"
    aria-label={`State: ${props.state}`}
    style={{ borderLeft: `4px solid ${stateTone[props.state] ?? '#9e9e9e'}` }}
  >
    {props.state}
  </Badge>
);

export function formatMoney(amount: number, currency = 'USD'): string {
  return new Intl.NumberFormat('en-US', {
    style: 'currency',
    currency,
    maximumFractionDigits: 2,
  }).format(amount);
}

export function formatTime(iso: string | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime())
    ? iso
    : date
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, 'Z');
}

export function percent(value: number, digits = 0): string {
  return `${(value * 100).toFixed(digits)}%`;
}

/** A labelled meter: used / limit with its percentage. */
export const UsageMeter = (props: {
  label: string;
  used: number;
  limit?: number;
  format?: (n: number) => string;
}) => {
  const fmt = props.format ?? ((n: number) => String(n));
  if (props.limit === undefined) {
    return (
      <Text variant="body-small">
        {props.label}: {fmt(props.used)} (no limit)
      </Text>
    );
  }
  const ratio = props.limit > 0 ? props.used / props.limit : 1;
  return (
    <Flex direction="column" gap="1">
      <Text variant="body-small" id={`meter-${props.label}`}>
        {props.label}: {fmt(props.used)} of {fmt(props.limit)} ({percent(ratio)}
        )
      </Text>
      <meter
        aria-label={props.label}
        min={0}
        max={props.limit}
        value={Math.min(props.used, props.limit)}
        high={props.limit * 0.8}
        optimum={0}
        style={{ width: '100%' }}
      />
    </Flex>
  );
};

/** A column of a {@link DataTable}. */
export interface DataColumn<T> {
  title: string;
  render: (row: T) => ReactNode;
}

/** A plain, accessible table: its caption names it, each row is a `row`. */
export function DataTable<T>(props: {
  caption: string;
  columns: DataColumn<T>[];
  rows: T[];
  rowKey: (row: T) => string;
  rowLabel?: (row: T) => string;
  selectedKey?: string;
}) {
  return (
    <div style={{ overflowX: 'auto' }}>
      <table
        style={{ width: '100%', borderCollapse: 'collapse' }}
        className="idp-control-plane-table"
      >
        <caption style={{ textAlign: 'left', captionSide: 'top' }}>
          <VisuallyHidden>{props.caption}</VisuallyHidden>
        </caption>
        <thead>
          <tr>
            {props.columns.map(c => (
              <th
                key={c.title}
                scope="col"
                style={{
                  textAlign: 'left',
                  padding: '6px 8px',
                  borderBottom: '1px solid var(--bui-border, #ccc)',
                }}
              >
                <Text variant="body-small" weight="bold">
                  {c.title}
                </Text>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {props.rows.map(row => {
            const key = props.rowKey(row);
            return (
              <tr
                key={key}
                aria-label={props.rowLabel?.(row)}
                aria-current={props.selectedKey === key ? 'true' : undefined}
                style={{
                  background:
                    props.selectedKey === key
                      ? 'var(--bui-bg-neutral-2, rgba(0,0,0,0.05))'
                      : undefined,
                }}
              >
                {props.columns.map(c => (
                  <td
                    key={c.title}
                    style={{
                      padding: '6px 8px',
                      borderBottom: '1px solid var(--bui-border, #eee)',
                      verticalAlign: 'top',
                    }}
                  >
                    {c.render(row)}
                  </td>
                ))}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
export { ConfirmDialog } from './ConfirmDialog';
export {
  useControlPlaneLink,
  useScaffolderLinks,
  useSelfServiceLink,
} from './links';
export {
  isSimulated,
  simulatedIds,
  SimulatedNotice,
  useSimulatedProviders,
} from './simulated';

import { Schemas } from '@idp-multicloud/sdk';
import { Badge, Flex, Text } from '@backstage/ui';
import {
  CartesianGrid,
  Legend,
  Line,
  LineChart,
  ReferenceLine,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';
import { DataTable, formatTime } from '../common';

type Deployment = Schemas['Deployment'];
type Measurement = Deployment['measurements'][number];
type Metric = Measurement['metrics'][number];

/** How a metric is named for people, and how its values read. */
export function metricLabel(metric: string): string {
  if (metric === 'error-rate') return 'Error rate';
  if (metric === 'latency-p99') return 'p99 latency';
  if (metric === 'health') return 'Health';
  return metric;
}

/** A value of `metric` as people read it: error rates in percent, latencies in ms. */
export function formatMetric(metric: string, value: number | undefined) {
  if (value === undefined || Number.isNaN(value)) return '—';
  if (metric === 'error-rate') {
    const pct = value * 100;
    return `${pct < 10 ? pct.toFixed(2) : pct.toFixed(1)} %`;
  }
  if (metric === 'latency-p99') return `${Math.round(value)} ms`;
  return Number.isInteger(value) ? String(value) : value.toPrecision(3);
}

/** The threshold as a sentence: "at most 1.00 %". */
export function formatThreshold(
  metric: string,
  threshold: Metric['threshold'],
): string {
  if (!threshold) return 'none';
  return `${threshold.kind === 'max' ? 'at most' : 'at least'} ${formatMetric(
    metric,
    threshold.limit,
  )}`;
}

const verdictTone: Record<string, string> = {
  pass: '#2e7d32',
  fail: '#d32f2f',
  inconclusive: '#ed6c02',
};

/** A verdict of an analysis (pass, fail, inconclusive) as a badge. */
export const VerdictBadge = (props: { verdict: string }) => (
  <Badge
    size="small"
    aria-label={`Verdict: ${props.verdict}`}
    style={{
      borderLeft: `4px solid ${verdictTone[props.verdict] ?? '#9e9e9e'}`,
    }}
  >
    {props.verdict}
  </Badge>
);

/** The samples of one metric over every measurement, as rows of one chart. */
function seriesOf(measurements: Measurement[], metric: string) {
  const rows = new Map<
    number,
    { t: number; canary?: number; stable?: number }
  >();
  let threshold: Metric['threshold'];
  for (const m of measurements) {
    const found = m.metrics.find(x => x.metric === metric);
    if (!found) continue;
    threshold = found.threshold ?? threshold;
    for (const [t, v] of found.canary) {
      rows.set(t, { ...rows.get(t), t, canary: v });
    }
    for (const [t, v] of found.baseline) {
      rows.set(t, { ...rows.get(t), t, stable: v });
    }
  }
  return {
    rows: [...rows.values()].sort((a, b) => a.t - b.t),
    threshold,
  };
}

const clock = (t: number) => new Date(t).toISOString().slice(11, 19);

/**
 * One metric of the analysis over time: the new version's samples against the stable one's,
 * with the threshold drawn across.
 */
export const MetricPlot = (props: {
  metric: string;
  measurements: Measurement[];
  fromVersion: string;
  toVersion: string;
}) => {
  const { metric, fromVersion, toVersion } = props;
  const { rows, threshold } = seriesOf(props.measurements, metric);
  const label = metricLabel(metric);
  const format = (v: number) => formatMetric(metric, v);
  return (
    <figure
      aria-label={`${label}: ${toVersion} against ${fromVersion}`}
      style={{ margin: 0 }}
    >
      <figcaption>
        <Text variant="body-small" weight="bold">
          {label}
        </Text>{' '}
        <Text variant="body-small" color="secondary">
          {toVersion} (new) against {fromVersion} (stable) · threshold{' '}
          {formatThreshold(metric, threshold)}
        </Text>
      </figcaption>
      {rows.length === 0 ? (
        <Text as="p" variant="body-small" color="secondary">
          No samples yet.
        </Text>
      ) : (
        <LineChart
          width={460}
          height={220}
          data={rows}
          margin={{ top: 12, right: 16, bottom: 4, left: 8 }}
        >
          <CartesianGrid strokeDasharray="3 3" />
          <XAxis
            dataKey="t"
            type="number"
            scale="time"
            domain={['dataMin', 'dataMax']}
            tickFormatter={clock}
          />
          <YAxis tickFormatter={format} width={64} />
          <Tooltip
            labelFormatter={t => clock(Number(t))}
            formatter={v => format(Number(v))}
          />
          <Legend />
          <Line
            type="monotone"
            dataKey="canary"
            name={`${toVersion} (new)`}
            stroke="#d32f2f"
            dot={false}
            connectNulls
            isAnimationActive={false}
          />
          <Line
            type="monotone"
            dataKey="stable"
            name={`${fromVersion} (stable)`}
            stroke="#1565c0"
            dot={false}
            connectNulls
            isAnimationActive={false}
          />
          {threshold && (
            <ReferenceLine
              y={threshold.limit}
              stroke="#ed6c02"
              strokeDasharray="6 3"
              ifOverflow="extendDomain"
              label={{
                value: `threshold ${format(threshold.limit)}`,
                position: 'insideTopLeft',
                fontSize: 11,
              }}
            />
          )}
        </LineChart>
      )}
    </figure>
  );
};

const fixed = (n: number | undefined, digits: number) =>
  n === undefined ? '—' : n.toFixed(digits);

/**
 * The analysis of a deployment: one plot per metric (error rate, p99, custom queries), then
 * every measurement's verdict with the medians, the threshold, the p-value and effect size.
 */
export const DeploymentAnalysis = (props: { deployment: Deployment }) => {
  const { deployment } = props;
  const { measurements } = deployment;
  if (measurements.length === 0) {
    return (
      <Text as="p" variant="body-small" color="secondary">
        No analysis has measured {deployment.toVersion} yet.
      </Text>
    );
  }
  // a plot per metric with samples; a check without (health) shows in the table only
  const metrics = [
    ...new Set(
      measurements.flatMap(m =>
        m.metrics
          .filter(x => x.canary.length + x.baseline.length > 0)
          .map(x => x.metric),
      ),
    ),
  ];
  const rows = measurements.flatMap(m =>
    m.metrics.map(metric => ({ measurement: m, metric })),
  );
  return (
    <Flex direction="column" gap="3">
      <Flex gap="4" style={{ flexWrap: 'wrap' }}>
        {metrics.map(metric => (
          <MetricPlot
            key={metric}
            metric={metric}
            measurements={measurements}
            fromVersion={deployment.fromVersion}
            toVersion={deployment.toVersion}
          />
        ))}
      </Flex>
      <DataTable
        caption="Measurements"
        rows={rows}
        rowKey={r =>
          `${r.measurement.step}-${r.measurement.index}-${
            r.measurement.cell ?? ''
          }-${r.metric.metric}`
        }
        rowLabel={r =>
          `${metricLabel(r.metric.metric)} ${r.metric.verdict}, measurement ${
            r.measurement.index
          } of step ${r.measurement.step}`
        }
        columns={[
          {
            title: 'Measurement',
            render: r => (
              <Flex direction="column" gap="1">
                <Text variant="body-small">
                  step {r.measurement.step} #{r.measurement.index}
                  {r.measurement.cell ? ` · ${r.measurement.cell}` : ''}
                </Text>
                <Text variant="body-x-small" color="secondary">
                  {formatTime(r.measurement.endedAt)}
                </Text>
              </Flex>
            ),
          },
          { title: 'Metric', render: r => metricLabel(r.metric.metric) },
          {
            title: 'Verdict',
            render: r => <VerdictBadge verdict={r.metric.verdict} />,
          },
          {
            title: 'New / stable (median)',
            render: r =>
              `${formatMetric(
                r.metric.metric,
                r.metric.canaryMedian,
              )} / ${formatMetric(r.metric.metric, r.metric.baselineMedian)}`,
          },
          {
            title: 'Threshold',
            render: r => formatThreshold(r.metric.metric, r.metric.threshold),
          },
          { title: 'p-value', render: r => fixed(r.metric.pValue, 4) },
          { title: 'Effect size', render: r => fixed(r.metric.effectSize, 2) },
          {
            title: 'Why',
            render: r => (
              <Text variant="body-x-small">
                {r.metric.reasons.join('; ') || '—'}
              </Text>
            ),
          },
        ]}
      />
    </Flex>
  );
};

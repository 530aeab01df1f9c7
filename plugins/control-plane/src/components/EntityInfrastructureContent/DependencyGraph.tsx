import { Text } from '@backstage/ui';
import { Resource } from '@idp-multicloud/sdk';

const BOX_W = 170;
const BOX_H = 40;
const GAP_X = 60;
const GAP_Y = 16;

/** Layers resources so each sits to the right of everything it depends on. */
export function layers(resources: Resource[]): Map<string, number> {
  const byRef = new Map(resources.map(r => [r.ref, r]));
  const depth = new Map<string, number>();
  const visit = (ref: string, seen: Set<string>): number => {
    if (depth.has(ref)) return depth.get(ref)!;
    if (seen.has(ref)) return 0; // a cycle: the backend refuses them, draw it flat
    seen.add(ref);
    const deps = byRef.get(ref)?.spec.dependsOn ?? [];
    const d = deps.length
      ? 1 + Math.max(...deps.map(dep => visit(dep, seen)))
      : 0;
    depth.set(ref, d);
    return d;
  };
  for (const r of resources) visit(r.ref, new Set());
  return depth;
}

const shortName = (ref: string) => ref.replace(/^resource:(default\/)?/, '');

/**
 * The `dependsOn` graph of the entity's resources: an SVG drawing (left to right, each
 * resource after what it needs) and, for assistive tech and tests, the same edges as a list.
 * Dependencies outside the entity's resources are drawn too, dashed.
 */
export const DependencyGraph = (props: {
  resources: Resource[];
  states: Record<string, string>;
}) => {
  const { resources } = props;
  const known = new Set(resources.map(r => r.ref));
  const external = [
    ...new Set(
      resources.flatMap(r => r.spec.dependsOn).filter(d => !known.has(d)),
    ),
  ];
  const nodes = [
    ...resources.map(r => ({
      ref: r.ref,
      resource: r as Resource | undefined,
    })),
    ...external.map(ref => ({ ref, resource: undefined })),
  ];
  const depth = layers(resources);
  const columns = new Map<number, string[]>();
  for (const n of nodes) {
    const d = depth.get(n.ref) ?? 0;
    columns.set(d, [...(columns.get(d) ?? []), n.ref]);
  }
  const pos = new Map<string, { x: number; y: number }>();
  for (const [d, refs] of columns) {
    refs.forEach((ref, i) =>
      pos.set(ref, {
        x: 10 + d * (BOX_W + GAP_X),
        y: 10 + i * (BOX_H + GAP_Y),
      }),
    );
  }
  const width = 20 + Math.max(1, columns.size) * (BOX_W + GAP_X) - GAP_X;
  const height =
    20 +
    Math.max(1, ...[...columns.values()].map(c => c.length)) * (BOX_H + GAP_Y) -
    GAP_Y;
  const edges = resources.flatMap(r =>
    r.spec.dependsOn.map(dep => ({ from: r.ref, to: dep })),
  );

  if (edges.length === 0) {
    return (
      <Text as="p" variant="body-small">
        None of these resources depends on another. Add <code>dependsOn</code>{' '}
        to a resource's spec to have it provisioned after what it needs.
      </Text>
    );
  }

  return (
    <>
      <svg
        width={width}
        height={height}
        viewBox={`0 0 ${width} ${height}`}
        aria-hidden="true"
        style={{ maxWidth: '100%' }}
      >
        <defs>
          <marker
            id="idp-arrow"
            markerWidth="8"
            markerHeight="8"
            refX="8"
            refY="4"
            orient="auto"
          >
            <path d="M0,0 L8,4 L0,8 z" fill="currentColor" />
          </marker>
        </defs>
        {edges.map(e => {
          const a = pos.get(e.from)!;
          const b = pos.get(e.to)!;
          return (
            <line
              key={`${e.from}->${e.to}`}
              x1={a.x}
              y1={a.y + BOX_H / 2}
              x2={b.x + BOX_W}
              y2={b.y + BOX_H / 2}
              stroke="currentColor"
              markerEnd="url(#idp-arrow)"
            />
          );
        })}
        {nodes.map(n => {
          const p = pos.get(n.ref)!;
          const state = props.states[n.ref] ?? n.resource?.status.state;
          return (
            <g key={n.ref}>
              <rect
                x={p.x}
                y={p.y}
                width={BOX_W}
                height={BOX_H}
                rx={6}
                fill="none"
                stroke="currentColor"
                strokeDasharray={n.resource ? undefined : '4 3'}
              />
              <text x={p.x + 8} y={p.y + 16} fontSize="12" fill="currentColor">
                {shortName(n.ref)}
              </text>
              <text x={p.x + 8} y={p.y + 32} fontSize="10" fill="currentColor">
                {n.resource
                  ? `${n.resource.spec.product} · ${state}`
                  : 'not owned here'}
              </text>
            </g>
          );
        })}
      </svg>
      <ul aria-label="Dependencies">
        {edges.map(e => (
          <li key={`${e.from}->${e.to}`}>
            <Text variant="body-small">
              {shortName(e.from)} depends on {shortName(e.to)}
            </Text>
          </li>
        ))}
      </ul>
    </>
  );
};

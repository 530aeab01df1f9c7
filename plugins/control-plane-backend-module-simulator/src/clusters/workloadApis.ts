import { DriverResource } from '@idp-multicloud/plugin-control-plane-node';

/**
 * The Kubernetes objects a simulated product would run, as `apiVersion/Kind`: what a cluster
 * upgrade's pre-flight checks against the APIs its target version removed.
 */
const productApis = new Map<string, string[]>([
  [
    'mysql',
    [
      'apps/v1/StatefulSet',
      'v1/Service',
      'v1/Secret',
      'policy/v1/PodDisruptionBudget',
    ],
  ],
  [
    'postgres',
    [
      'apps/v1/StatefulSet',
      'v1/Service',
      'v1/Secret',
      'policy/v1/PodDisruptionBudget',
    ],
  ],
  ['redis', ['apps/v1/StatefulSet', 'v1/Service']],
  [
    'webapp',
    [
      'apps/v1/Deployment',
      'v1/Service',
      'autoscaling/v2/HorizontalPodAutoscaler',
      'networking.k8s.io/v1/Ingress',
    ],
  ],
]);

/**
 * A label on a resource that adds an API its workload still uses, `apiVersion/Kind` (several
 * separated by commas): a simulated workload that ships an old manifest of its own, e.g.
 * `flowcontrol.apiserver.k8s.io/v1beta3/FlowSchema`.
 */
export const LEGACY_API_LABEL = 'simulator.idp-multicloud.io/legacy-api';

/** The APIs a simulated resource uses: its product's, and any its legacy-api label adds. */
export function simulatedApisInUse(resource: DriverResource): string[] {
  const legacy = Object.hasOwn(resource.labels ?? {}, LEGACY_API_LABEL)
    ? resource.labels[LEGACY_API_LABEL].split(',')
        .map(a => a.trim())
        .filter(Boolean)
    : [];
  return [
    ...(productApis.get(resource.product) ?? [
      'apps/v1/Deployment',
      'v1/Service',
    ]),
    ...legacy,
  ];
}

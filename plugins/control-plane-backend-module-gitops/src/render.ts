/*
 * What runs on each cluster, as manifests: for every placed resource its Crossplane claim
 * (built by the Kubernetes module's own builders) or, for a webapp, its Deployment and
 * Service, with its NetworkPolicy, DNSEndpoint and HTTPRoute; validated, one file per
 * resource under `clusters/<cluster>/<namespace>/<name>.yaml`.
 */
import {
  buildClaim,
  buildHttpRoute,
  dnsEndpoint,
  dnsHostname,
  networkPolicy,
  ResolvedClaimMapping,
} from '@idp-multicloud/plugin-control-plane-backend-module-kubernetes';
import { ownValue } from '@idp-multicloud/plugin-control-plane-common';
import {
  connectionEnv,
  DeliveredResource,
  DriverCallContext,
  settingsEnv,
  webAppWorkload,
} from '@idp-multicloud/plugin-control-plane-node';
import { ObjectMeta } from '@kubernetes-models/apimachinery/apis/meta/v1/ObjectMeta';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { Service } from 'kubernetes-models/v1/Service';
import { stringify } from 'yaml';

/** A rendered Kubernetes object. */
export interface RenderedObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [key: string]: unknown;
}

/** What a resource renders to: its file and the objects in it. */
export interface RenderedResource {
  path: string;
  cluster: string;
  ref: string;
  objects: RenderedObject[];
}

/** How a render builds objects. */
export interface RenderOptions {
  /** The claim of each product (the Kubernetes module's mappings). */
  claims: Record<string, ResolvedClaimMapping>;
  /** The Gateway a webapp's HTTPRoute attaches to; no HTTPRoute without one. */
  parentRefs?: Array<{
    name: string;
    namespace?: string;
    sectionName?: string;
  }>;
}

/** The file of a resource's objects on its cluster. */
export function resourcePath(cluster: string, namespace: string, name: string) {
  return `clusters/${cluster}/${namespace}/${name}.yaml`;
}

const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function checkName(what: string, value: string) {
  if (!dnsLabel.test(value) || value.length > 63) {
    throw new Error(`${what} '${value}' is not a DNS label`);
  }
}

/**
 * A call context that makes the same annotations on every render of the same generation: a
 * render is idempotent, and a rendered object never changes without a change of its resource.
 */
function renderContext(item: DeliveredResource): DriverCallContext {
  return {
    idempotencyToken: `render:${item.resource.uid}:${item.resource.generation}`,
    operationId: 'render',
    signal: new AbortController().signal,
    logger: undefined as unknown as DriverCallContext['logger'],
  };
}

/**
 * `@kubernetes/client-node` spells a NetworkPolicy peer's `from` as `_from` (its models
 * rename it); a manifest spells it as Kubernetes does.
 */
function manifestOf(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(manifestOf);
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k === '_from' ? 'from' : k, manifestOf(v)]),
    );
  }
  return value;
}

/** Validates an object: its whole schema for kinds with a model, its metadata for the rest. */
export function validateObject(object: RenderedObject): void {
  checkName(`${object.kind} name`, object.metadata.name);
  checkName(`${object.kind} namespace`, object.metadata.namespace);
  if (object.kind === 'NetworkPolicy') {
    new NetworkPolicy(object as any).validate();
  } else if (object.kind === 'Deployment') {
    new Deployment(object as any).validate();
  } else if (object.kind === 'Service') {
    new Service(object as any).validate();
  } else {
    new ObjectMeta(object.metadata).validate();
  }
}

/** A Kubernetes environment variable's name for a dependency's field: `ORDERS_DB_HOST`. */
const envName = (name: string, field: string) =>
  `${name}_${field}`.replace(/[^A-Za-z0-9]+/g, '_').toUpperCase();

/**
 * A webapp as the cluster runs it: the Deployment of its image at its version (the stable
 * track the HTTPRoute sends to) and the Service `<name>-stable`, wired to its `env` and to the
 * connection secrets of what it depends on in its namespace (a pod reads no other
 * namespace's secrets).
 */
function webappObjects(
  item: DeliveredResource,
  policy: RenderedObject,
  port: number,
): RenderedObject[] {
  const { resource } = item;
  const param = <T>(name: string, fallback: T): T => {
    const value = ownValue(resource.params, name);
    return value === undefined ? fallback : (value as T);
  };
  const dependencies = (item.dependsOn ?? [])
    .map(ref => ref.split('/'))
    .filter(([namespace]) => namespace === resource.namespace)
    .map(([, name]) => name);
  return webAppWorkload({
    name: resource.name,
    namespace: resource.namespace,
    labels: policy.metadata.labels ?? {},
    // the pods the NetworkPolicy lets traffic in to, on the stable track
    selector: {
      ...(
        policy.spec as { podSelector: { matchLabels: Record<string, string> } }
      ).podSelector.matchLabels,
      'idp.multicloud/track': 'stable',
    },
    image: `${param('image', '')}:${param('version', 'latest')}`,
    replicas: param('replicas', 2),
    port,
    healthCheckPath: param('healthCheckPath', '/healthz'),
    size: item.size,
    spreadAcrossZones: param('multiAZ', false),
    env: [
      { name: 'PORT', value: String(port) },
      ...settingsEnv(param<Record<string, unknown>>('env', {})),
      ...dependencies.flatMap(name =>
        connectionEnv(name, field => envName(name, field)),
      ),
    ],
    service: { name: `${resource.name}-stable`, port },
  }) as RenderedObject[];
}

/**
 * The objects of one resource: its claim (a webapp: its Deployment and Service), its
 * NetworkPolicy, its DNSEndpoint and a webapp's HTTPRoute.
 */
export function renderResource(
  item: DeliveredResource,
  options: RenderOptions,
): RenderedResource | undefined {
  const { resource, target } = item;
  const mapping = ownValue(options.claims, resource.product);
  if (!mapping) return undefined;
  checkName('cluster', target.cluster);
  const ctx = renderContext(item);
  const port =
    typeof resource.params.port === 'number'
      ? resource.params.port
      : mapping.port ?? 8080;
  const policy = manifestOf(networkPolicy(resource, port)) as RenderedObject;
  const objects = [
    ...(resource.product === 'webapp'
      ? webappObjects(item, policy, port)
      : [manifestOf(buildClaim(resource, target, ctx, mapping))]),
    policy,
    manifestOf(dnsEndpoint(resource, dnsHostname(resource, target))),
  ] as RenderedObject[];
  if (resource.product === 'webapp' && options.parentRefs?.length) {
    const version = resource.params.version;
    const route = buildHttpRoute(
      {
        ref: resource.ref,
        namespace: resource.namespace,
        name: resource.name,
        cells: [target.cell],
        cluster: target.cluster,
      },
      {
        stable: typeof version === 'string' ? version : 'stable',
        canaryWeight: 0,
      },
      { parentRefs: options.parentRefs, port },
      target.cell,
      ctx.idempotencyToken,
    );
    objects.push(manifestOf(route.toJSON()) as RenderedObject);
  }
  objects.forEach(validateObject);
  return {
    path: resourcePath(target.cluster, resource.namespace, resource.name),
    cluster: target.cluster,
    ref: resource.ref,
    objects,
  };
}

/** Objects as one YAML file, one document each. */
export function toYaml(objects: object[]): string {
  return objects
    .map(o => stringify(o, { lineWidth: 0, sortMapEntries: false }))
    .join('---\n');
}

/** Every resource's file, by path; products without a claim are left out (named in `skipped`). */
export function renderClusters(
  items: DeliveredResource[],
  options: RenderOptions,
): {
  files: Map<string, string>;
  rendered: RenderedResource[];
  skipped: string[];
} {
  const files = new Map<string, string>();
  const rendered: RenderedResource[] = [];
  const skipped: string[] = [];
  for (const item of items) {
    const result = renderResource(item, options);
    if (!result) {
      skipped.push(item.resource.ref);
      continue;
    }
    rendered.push(result);
    files.set(result.path, toYaml(result.objects));
  }
  return { files, rendered, skipped };
}

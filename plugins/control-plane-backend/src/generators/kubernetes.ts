import {
  builtinClaimKinds,
  isSecretReference,
  ownValue,
} from '@idp-multicloud/plugin-control-plane-common';
import {
  connectionEnv,
  settingsEnv,
  webAppWorkload,
} from '@idp-multicloud/plugin-control-plane-node';
import { IEnvVar } from 'kubernetes-models/v1/EnvVar';
import { stringify } from 'yaml';
import {
  envName,
  GenerationInput,
  GenerationOutput,
  GenerationUnit,
  imageOf,
  param,
  sizeOf,
} from './model';

const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Kubernetes' rule for a label value. */
const labelValue = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** The labels of everything written for a unit. */
function labelsOf(unit: GenerationUnit): Record<string, string> {
  return {
    'app.kubernetes.io/name': unit.name,
    'app.kubernetes.io/managed-by': 'control-plane',
    'idp.multicloud/product': unit.product,
    'idp.multicloud/tier': unit.tier,
  };
}

/** The name of the secret a claim's composition writes its connection details to. */
const connectionSecretName = (name: string) => `${name}-connection`;

/** Parameters as a claim carries them: a secret reference as Kubernetes spells one. */
function claimParameters(value: unknown): unknown {
  if (isSecretReference(value)) {
    return {
      valueFrom: {
        secretKeyRef: { name: value.secretRef.name, key: value.secretRef.key },
      },
    };
  }
  if (Array.isArray(value)) return value.map(claimParameters);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, claimParameters(v)]),
    );
  }
  return value;
}

/** A claim has no typed model (its CRD is the platform's): its metadata is checked here. */
function checkedClaim<
  T extends {
    metadata: {
      name: string;
      namespace: string;
      labels: Record<string, string>;
    };
  },
>(claim: T): T {
  const { name, namespace, labels } = claim.metadata;
  for (const [what, value] of [
    ['name', name],
    ['namespace', namespace],
  ]) {
    if (!dnsLabel.test(value) || value.length > 63) {
      throw new Error(`claim ${what} ${value} is not a DNS label`);
    }
  }
  for (const [key, value] of Object.entries(labels)) {
    if (!labelValue.test(value) || value.length > 63) {
      throw new Error(`label ${key}=${value} is not a valid label value`);
    }
  }
  return claim;
}

function claimOf(
  unit: GenerationUnit,
  kind: { apiVersion: string; kind: string },
) {
  return checkedClaim({
    apiVersion: kind.apiVersion,
    kind: kind.kind,
    metadata: {
      name: unit.name,
      namespace: unit.namespace,
      labels: labelsOf(unit),
    },
    spec: {
      parameters: claimParameters(unit.params) as Record<string, unknown>,
      ...(unit.provider
        ? { compositionSelector: { matchLabels: { provider: unit.provider } } }
        : {}),
      writeConnectionSecretToRef: { name: connectionSecretName(unit.name) },
    },
  });
}

/** A webapp's environment: its port, its own `env`, then each dependency's connection secret. */
function webappEnv(unit: GenerationUnit, input: GenerationInput): IEnvVar[] {
  return [
    { name: 'PORT', value: String(param(unit, 'port', 8080)) },
    ...settingsEnv(param<Record<string, unknown>>(unit, 'env', {})),
    ...unit.dependsOn.flatMap(key => {
      const dep = input.units.find(u => u.key === key)!;
      return connectionEnv(dep.name, field => envName(dep.key, field));
    }),
  ];
}

/** The workloads of a webapp: a Deployment and the Service in front of it. */
function webappWorkloads(unit: GenerationUnit, input: GenerationInput) {
  return webAppWorkload({
    name: unit.name,
    namespace: unit.namespace,
    labels: labelsOf(unit),
    selector: { 'app.kubernetes.io/name': unit.name },
    image: imageOf(unit),
    replicas: param(unit, 'replicas', 2),
    port: param(unit, 'port', 8080),
    healthCheckPath: param(unit, 'healthCheckPath', '/healthz'),
    size: sizeOf(unit),
    spreadAcrossZones: param(unit, 'multiAZ', false),
    env: webappEnv(unit, input),
    service: { name: unit.name, port: 80 },
  });
}

/**
 * Kubernetes manifests: a Crossplane claim for each data service (what the Kubernetes
 * module's driver applies; a platform's compositions realise it on the provider), and for a
 * webapp the Deployment and Service a cluster runs, wired to its dependencies' connection
 * secrets (`<name>-connection`, keys host, port, username, password). Deployments and
 * Services are validated against the Kubernetes OpenAPI schema (`kubernetes-models`).
 */
export function generateKubernetes(input: GenerationInput): GenerationOutput {
  const notes: string[] = [];
  const files = [];
  for (const unit of input.units) {
    let objects: unknown[];
    // The claims the Kubernetes module's driver applies for each built-in product.
    const claim = ownValue(builtinClaimKinds, unit.product);
    if (unit.product === 'webapp') {
      objects = webappWorkloads(unit, input);
    } else if (claim) {
      objects = [claimOf(unit, claim)];
    } else {
      notes.push(
        `${unit.ref}: product ${unit.product} has no claim mapping; left out`,
      );
      continue;
    }
    files.push({
      path: `kubernetes/${unit.key}.yaml`,
      content: objects
        .map(o => stringify(o, { lineWidth: 0, singleQuote: true }))
        .join('---\n'),
    });
  }
  if (files.length > 0) {
    files.push({
      path: 'kubernetes/kustomization.yaml',
      content: stringify({
        apiVersion: 'kustomize.config.k8s.io/v1beta1',
        kind: 'Kustomization',
        resources: files.map(f => f.path.slice('kubernetes/'.length)),
      }),
    });
  }
  return { files, notes };
}

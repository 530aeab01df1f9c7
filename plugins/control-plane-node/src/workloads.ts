/*
 * A web application as a Kubernetes cluster runs it: a Deployment of its image and the
 * Service in front of it, wired to its own settings and to its dependencies' connection
 * secrets. Built with the typed models of `kubernetes-models` and validated against the
 * Kubernetes schema. Shared by the Kubernetes generator and the GitOps render.
 */
import { isSecretReference } from '@idp-multicloud/plugin-control-plane-common';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { IEnvVar } from 'kubernetes-models/v1/EnvVar';
import { Service } from 'kubernetes-models/v1/Service';

/**
 * What a web application's workload is made of.
 * @public
 */
export interface WebAppWorkloadSpec {
  /** The Deployment's name. */
  name: string;
  /** The namespace of both objects. */
  namespace: string;
  /** The labels of both objects and of the pods. */
  labels: Record<string, string>;
  /** The pods' labels the Service and the Deployment select (added to the pods' labels). */
  selector: Record<string, string>;
  /** The image reference, with its tag. */
  image: string;
  /** How many pods the Deployment runs. */
  replicas: number;
  /** The container's port, named `http`. */
  port: number;
  /** The readiness and liveness probes' HTTP path. */
  healthCheckPath: string;
  /** CPU and memory requested (memory is also the limit); none when left out. */
  size?: { cpu: number; memoryGi: number };
  /** Spread the pods across zones. */
  spreadAcrossZones?: boolean;
  /** The container's environment (see {@link settingsEnv} and {@link connectionEnv}). */
  env: IEnvVar[];
  /** The Service: its name and the port it listens on (to the container's `http`). */
  service: { name: string; port: number };
}

/**
 * A web application's Deployment and Service, validated; as plain JSON manifests.
 * @public
 */
export function webAppWorkload(
  spec: WebAppWorkloadSpec,
): Array<Record<string, unknown>> {
  const { name, namespace, labels, selector, size } = spec;
  const probe = { httpGet: { path: spec.healthCheckPath, port: 'http' } };
  const deployment = new Deployment({
    metadata: { name, namespace, labels },
    spec: {
      replicas: spec.replicas,
      selector: { matchLabels: selector },
      template: {
        metadata: { labels: { ...labels, ...selector } },
        spec: {
          containers: [
            {
              name,
              image: spec.image,
              ports: [{ name: 'http', containerPort: spec.port }],
              env: spec.env,
              readinessProbe: probe,
              livenessProbe: { ...probe, initialDelaySeconds: 10 },
              ...(size
                ? {
                    resources: {
                      requests: {
                        cpu: String(size.cpu),
                        memory: `${size.memoryGi}Gi`,
                      },
                      limits: { memory: `${size.memoryGi}Gi` },
                    },
                  }
                : {}),
            },
          ],
          ...(spec.spreadAcrossZones
            ? {
                topologySpreadConstraints: [
                  {
                    maxSkew: 1,
                    topologyKey: 'topology.kubernetes.io/zone',
                    whenUnsatisfiable: 'DoNotSchedule',
                    labelSelector: { matchLabels: selector },
                  },
                ],
              }
            : {}),
        },
      },
    },
  });
  const service = new Service({
    metadata: { name: spec.service.name, namespace, labels },
    spec: {
      selector,
      ports: [{ name: 'http', port: spec.service.port, targetPort: 'http' }],
    },
  });
  deployment.validate();
  service.validate();
  return [
    deployment.toJSON() as Record<string, unknown>,
    service.toJSON() as Record<string, unknown>,
  ];
}

/**
 * A web application's own settings as environment variables: a value as a string, a secret
 * reference as a `secretKeyRef` (never its value).
 * @public
 */
export function settingsEnv(settings: Record<string, unknown>): IEnvVar[] {
  return Object.entries(settings).map(([name, value]) =>
    isSecretReference(value)
      ? {
          name,
          valueFrom: {
            secretKeyRef: {
              name: value.secretRef.name,
              key: value.secretRef.key,
            },
          },
        }
      : { name, value: String(value) },
  );
}

/**
 * How a web application reaches a dependency: its host, port, user and password from the
 * connection secret the dependency's claim writes (`<dependency>-connection`), each variable
 * named by `nameOf` (`user` for the username). User and password are optional: not every
 * engine has them (Kafka, a cache without auth).
 * @public
 */
export function connectionEnv(
  dependency: string,
  nameOf: (field: 'host' | 'port' | 'user' | 'password') => string,
): IEnvVar[] {
  return (['host', 'port', 'username', 'password'] as const).map(field => {
    const optional = field === 'username' || field === 'password';
    return {
      name: nameOf(field === 'username' ? 'user' : field),
      valueFrom: {
        secretKeyRef: {
          name: `${dependency}-connection`,
          key: field,
          ...(optional ? { optional } : {}),
        },
      },
    };
  });
}

/*
 * What Argo CD and Flux need to consume the deploy repository: an ApplicationSet whose git
 * generator makes one Application per cluster folder, and per cluster a Flux GitRepository and
 * Kustomization. Typed with `@kubernetes-models/argo-cd` and `@kubernetes-models/flux-cd`, and
 * validated against their CRDs' schemas.
 */
import { ApplicationSet } from '@kubernetes-models/argo-cd/argoproj.io/v1alpha1/ApplicationSet';
import { Kustomization } from '@kubernetes-models/flux-cd/kustomize.toolkit.fluxcd.io/v1/Kustomization';
import { GitRepository } from '@kubernetes-models/flux-cd/source.toolkit.fluxcd.io/v1/GitRepository';
import { DeliveryOptions } from './config';
import { toYaml } from './render';

/** The annotation of an Application or a Kustomization listing the deployments that hold it. */
export const HOLD_ANNOTATION = 'idp.multicloud/sync-held-by';

/** The auto-sync policy of every Application, and what a released hold restores. */
export const AUTOMATED = { prune: true, selfHeal: true } as const;

export const APPLICATION_SET_PATH = 'bootstrap/argocd/applicationset.yaml';
export const fluxPath = (cluster: string) => `bootstrap/flux/${cluster}.yaml`;

/** The Argo CD Application of a cluster. */
export const applicationName = (
  argocd: NonNullable<DeliveryOptions['argocd']>,
  cluster: string,
) => `${argocd.applicationPrefix}${cluster}`;

/** The Flux objects (GitRepository and Kustomization) of a cluster. */
export const fluxName = (cluster: string) => `idp-${cluster}`;

/**
 * The ApplicationSet: a git directory generator over `clusters/*` (or the clusters Argo CD is
 * told to deliver), one Application per cluster folder, synced automatically (prune,
 * self-heal) to the Argo CD cluster of the same name. `ignoreApplicationDifferences` on
 * `/spec/syncPolicy` lets a rollout turn an Application's auto-sync off for its duration
 * (Argo CD's documented way to disable auto-sync of a generated Application for a while),
 * and `preservedFields` keeps the annotation that says who holds it.
 */
export function buildApplicationSet(options: DeliveryOptions): ApplicationSet {
  const argocd = options.argocd!;
  const { url, branch } = options.repository;
  const directories = argocd.clusters
    ? [...argocd.clusters].sort().map(c => ({ path: `clusters/${c}` }))
    : [{ path: 'clusters/*' }];
  const set = new ApplicationSet({
    metadata: {
      name: `${argocd.applicationPrefix}clusters`,
      namespace: argocd.namespace,
      labels: { 'app.kubernetes.io/managed-by': 'control-plane' },
    },
    spec: {
      goTemplate: true,
      goTemplateOptions: ['missingkey=error'],
      generators: [
        { git: { repoURL: url, revision: branch, directories } as any },
      ],
      ignoreApplicationDifferences: [{ jsonPointers: ['/spec/syncPolicy'] }],
      preservedFields: { annotations: [HOLD_ANNOTATION] },
      template: {
        metadata: {
          name: `${argocd.applicationPrefix}{{.path.basename}}`,
          labels: {
            'app.kubernetes.io/managed-by': 'control-plane',
            'idp.multicloud/cluster': '{{.path.basename}}',
          },
        },
        spec: {
          project: argocd.project,
          source: {
            repoURL: url,
            targetRevision: branch,
            path: '{{.path.path}}',
            directory: { recurse: true },
          },
          destination: { name: '{{.path.basename}}' },
          syncPolicy: {
            automated: { ...AUTOMATED },
            syncOptions: ['CreateNamespace=true', 'ServerSideApply=true'],
          },
        },
      },
    },
  });
  set.validate();
  return set;
}

/**
 * A cluster's Flux objects: a GitRepository on the deploy repository's branch, and a
 * Kustomization that applies `./clusters/<cluster>` (pruning what was removed, waiting for
 * what it applied to be healthy, so that its `Ready` condition speaks for their health).
 */
export function buildFluxObjects(
  options: DeliveryOptions,
  cluster: string,
): [GitRepository, Kustomization] {
  const flux = options.flux!;
  const name = fluxName(cluster);
  const labels = {
    'app.kubernetes.io/managed-by': 'control-plane',
    'idp.multicloud/cluster': cluster,
  };
  const source = new GitRepository({
    metadata: { name, namespace: flux.namespace, labels },
    spec: {
      interval: flux.interval,
      url: options.repository.url,
      ref: { branch: options.repository.branch },
    },
  });
  const kustomization = new Kustomization({
    metadata: { name, namespace: flux.namespace, labels },
    spec: {
      interval: flux.interval,
      path: `./clusters/${cluster}`,
      prune: true,
      wait: true,
      sourceRef: { kind: 'GitRepository', name },
      ...(flux.kubeConfigSecret
        ? {
            kubeConfig: {
              secretRef: {
                name: flux.kubeConfigSecret.replace(
                  /\{\{cluster\}\}/g,
                  cluster,
                ),
              },
            },
          }
        : {}),
    },
  });
  source.validate();
  kustomization.validate();
  return [source, kustomization];
}

/** Whether `list` (a tool's `clusters`) lets the tool deliver `cluster`. */
export const delivers = (list: string[] | undefined, cluster: string) =>
  !list || list.includes(cluster);

/** The bootstrap files for the clusters of a render, by path. */
export function bootstrapFiles(
  options: DeliveryOptions,
  clusters: string[],
): Map<string, string> {
  const files = new Map<string, string>();
  if (options.argocd) {
    files.set(
      APPLICATION_SET_PATH,
      toYaml([buildApplicationSet(options).toJSON()]),
    );
  }
  if (options.flux) {
    for (const cluster of [...clusters].sort()) {
      if (!delivers(options.flux.clusters, cluster)) continue;
      files.set(
        fluxPath(cluster),
        toYaml(buildFluxObjects(options, cluster).map(o => o.toJSON())),
      );
    }
  }
  return files;
}

import { LoggerService } from '@backstage/backend-plugin-api';
import { ResolvedClaimMapping } from '@idp-multicloud/plugin-control-plane-backend-module-kubernetes';
import {
  DeliveryHold,
  DeliveryProvider,
  DeliveryRenderResult,
  DeliverySnapshot,
  DeliveryStatus,
  DriverResource,
  DriverTarget,
} from '@idp-multicloud/plugin-control-plane-node';
import { ArgoCdClient } from './ArgoCdClient';
import {
  applicationName,
  AUTOMATED,
  bootstrapFiles,
  delivers,
  fluxName,
  HOLD_ANNOTATION,
} from './bootstrap';
import { DeliveryOptions } from './config';
import { DeployRepo } from './DeployRepo';
import { FluxClient } from './FluxClient';
import { renderClusters, renderResource, RenderOptions } from './render';
import { argoVerdict, fluxVerdict } from './verdict';

/** The trailer of a render commit that names the state repository commit it came from. */
export const STATE_COMMIT_TRAILER = 'Idp-State-Commit';

/** The commit message of a render: the state commit it came from and what changed. */
export function renderMessage(stateCommit: string, changed: string[]): string {
  const shown = changed.slice(0, 50);
  return [
    `Render state commit ${stateCommit.slice(0, 12)}: ${changed.length} file${
      changed.length === 1 ? '' : 's'
    } changed`,
    '',
    `What runs on each cluster, rendered from state repository commit ${stateCommit}.`,
    '',
    ...shown.map(f => `- ${f}`),
    ...(changed.length > shown.length
      ? [`- and ${changed.length - shown.length} more`]
      : []),
    '',
    `${STATE_COMMIT_TRAILER}: ${stateCommit}`,
    '',
  ].join('\n');
}

/**
 * The commit of a revision as the tools report it: Argo CD's `status.sync.revision` (a SHA),
 * Flux's `lastAppliedRevision` (`main@sha1:<sha>`, or `main/<sha>` before Flux 2.0).
 */
export function revisionSha(revision: string | undefined): string | undefined {
  return revision?.match(/(?:^|[@:/])([0-9a-f]{40}|[0-9a-f]{64})$/)?.[1];
}

const holders = (value: string | undefined | null) =>
  new Set((value ?? '').split(',').filter(Boolean));

/**
 * Delivery through Argo CD and Flux: renders each snapshot into the deploy repository (one
 * commit when something changed, none otherwise), reads their verdict on a resource's objects
 * back, and holds auto-sync of a cluster's Application (or suspends its Kustomization) while a
 * rollout changes something on it.
 */
export class GitOpsDelivery implements DeliveryProvider {
  readonly id = 'gitops';
  readonly repo: DeployRepo;
  readonly #argo?: ArgoCdClient;
  readonly #flux?: FluxClient;
  readonly #render: RenderOptions;

  constructor(
    private readonly options: DeliveryOptions,
    claims: Record<string, ResolvedClaimMapping>,
    private readonly logger: LoggerService,
  ) {
    this.repo = new DeployRepo(options.repository);
    this.#render = { claims, parentRefs: options.parentRefs };
    if (options.argocd) {
      this.#argo = new ArgoCdClient({
        baseUrl: options.argocd.baseUrl,
        token: options.argocd.token,
        timeoutMs: options.argocd.timeoutMs,
      });
    }
    if (options.flux) {
      this.#flux = new FluxClient({
        ...options.flux.apiServer,
        namespace: options.flux.namespace,
      });
    }
  }

  async render(snapshot: DeliverySnapshot): Promise<DeliveryRenderResult> {
    const { files, skipped } = renderClusters(snapshot.resources, this.#render);
    const clusters = [
      ...new Set(snapshot.resources.map(r => r.target.cluster)),
    ];
    for (const [path, content] of bootstrapFiles(this.options, clusters)) {
      files.set(path, content);
    }
    if (skipped.length > 0) {
      this.logger.debug(
        `not rendered (no claim mapping): ${skipped.join(', ')}`,
      );
    }
    const result = await this.repo.commitTree(files, changed =>
      renderMessage(snapshot.commit, changed),
    );
    if (result.commit) {
      this.logger.info(
        `rendered state commit ${snapshot.commit.slice(
          0,
          12,
        )} as deploy commit ${result.commit.slice(0, 12)} (${
          result.changed.length
        } files)`,
      );
    }
    return result;
  }

  /** The tool that delivers a cluster: Argo CD first when both are configured for it. */
  #toolOf(cluster: string): 'argocd' | 'flux' | undefined {
    const { argocd, flux } = this.options;
    if (argocd && delivers(argocd.clusters, cluster)) return 'argocd';
    if (flux && delivers(flux.clusters, cluster)) return 'flux';
    return undefined;
  }

  delivers(resource: DriverResource, target: DriverTarget): boolean {
    return Boolean(
      this.#toolOf(target.cluster) &&
        renderResource({ resource, target }, this.#render),
    );
  }

  async status(
    resource: DriverResource,
    target: DriverTarget,
  ): Promise<DeliveryStatus | undefined> {
    const tool = this.#toolOf(target.cluster);
    const rendered = renderResource({ resource, target }, this.#render);
    if (!tool || !rendered) return undefined;
    let verdict: DeliveryStatus | undefined;
    if (tool === 'argocd') {
      const app = await this.#argo!.getApplication(
        applicationName(this.options.argocd!, target.cluster),
      );
      verdict = app && argoVerdict(app, rendered.objects);
    } else {
      const kustomization = await this.#flux!.get(fluxName(target.cluster));
      verdict = kustomization && fluxVerdict(kustomization, rendered.objects);
    }
    return verdict && this.#ofLatestRender(verdict, rendered.path);
  }

  /**
   * A verdict in sync only when the revision the tool applied holds the latest render of the
   * resource's file: a tool that has not fetched the commit of an update yet still reports
   * the objects synced, at the revision before.
   */
  async #ofLatestRender(
    verdict: DeliveryStatus,
    path: string,
  ): Promise<DeliveryStatus> {
    if (!verdict.inSync) return verdict;
    const applied = revisionSha(verdict.revision);
    if (applied && (await this.repo.sameAsHead(path, applied))) return verdict;
    return {
      ...verdict,
      sync: 'OutOfSync',
      inSync: false,
      message: applied
        ? `${verdict.tool} applied revision ${applied.slice(
            0,
            12,
          )}, not the latest render of these objects`
        : `${verdict.tool} reports no revision it applied`,
    };
  }

  async holdSync(hold: DeliveryHold): Promise<void> {
    await this.#setHold(hold, true);
  }

  async releaseSync(hold: DeliveryHold): Promise<void> {
    await this.#setHold(hold, false);
  }

  async #setHold(hold: DeliveryHold, on: boolean) {
    const cluster = hold.target.cluster;
    const tool = this.#toolOf(cluster);
    if (tool === 'argocd') {
      const name = applicationName(this.options.argocd!, cluster);
      const app = await this.#argo!.getApplication(name);
      if (!app) return;
      const ids = holders(app.metadata.annotations?.[HOLD_ANNOTATION]);
      const before = [...ids].join(',');
      if (on) ids.add(hold.deploymentId);
      else ids.delete(hold.deploymentId);
      const automated = Boolean(app.spec?.syncPolicy?.automated);
      // nothing to change: the same holders, and auto-sync already as they call for
      if ([...ids].join(',') === before && automated === (ids.size === 0)) {
        return;
      }
      await this.#argo!.patchApplication(name, {
        metadata: {
          annotations: {
            [HOLD_ANNOTATION]: ids.size ? [...ids].join(',') : null,
          },
        },
        ...(ids.size > 0
          ? { spec: { syncPolicy: { automated: null } } }
          : { spec: { syncPolicy: { automated: { ...AUTOMATED } } } }),
      });
      this.logger.info(
        `${
          ids.size ? 'holding' : 'released'
        } auto-sync of Argo CD application ${name}${
          ids.size ? ` for deployments ${[...ids].join(', ')}` : ''
        }`,
      );
    } else if (tool === 'flux') {
      const name = fluxName(cluster);
      const kustomization = await this.#flux!.get(name);
      if (!kustomization) return;
      // A suspended Kustomization applies nothing: it stays suspended while any rollout on
      // its cluster holds it, and resumes when the last one ends.
      const ids = holders(
        kustomization.metadata.annotations?.[HOLD_ANNOTATION],
      );
      const before = [...ids].join(',');
      if (on) ids.add(hold.deploymentId);
      else ids.delete(hold.deploymentId);
      const suspended = kustomization.spec?.suspend === true;
      if ([...ids].join(',') === before && suspended === ids.size > 0) return;
      await this.#flux!.hold(name, [...ids]);
      this.logger.info(
        ids.size
          ? `suspended Flux Kustomization ${name} for deployments ${[
              ...ids,
            ].join(', ')}`
          : `resumed Flux Kustomization ${name}`,
      );
    }
  }
}

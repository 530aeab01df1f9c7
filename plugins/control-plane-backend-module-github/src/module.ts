import {
  coreServices,
  createBackendModule,
} from '@backstage/backend-plugin-api';
import { catalogServiceRef } from '@backstage/plugin-catalog-node';
import { controlPlaneChangeProposalsExtensionPoint } from '@idp-multicloud/plugin-control-plane-node';
import { teamsFromCatalog } from './approvals';
import { readGitHubSettings } from './config';
import { GitHubChangeProposer } from './GitHubChangeProposer';
import { webhookRouter } from './webhook';

/**
 * GitHub for the control plane's state repository: changes that need review (by namespace or
 * tier, `controlPlane.github.review`) are proposed as pull requests with the plan and an
 * `idp plan` check run that passes once the approvals policy is met; merged pull requests are
 * picked up by webhook (`POST /api/control-plane/github/webhook`, signature verified) and by
 * polling. Without `controlPlane.github.owner` and `.repo` the module adds nothing.
 * @public
 */
export const controlPlaneModuleGithub = createBackendModule({
  pluginId: 'control-plane',
  moduleId: 'github',
  register(reg) {
    reg.registerInit({
      deps: {
        config: coreServices.rootConfig,
        logger: coreServices.logger,
        httpRouter: coreServices.httpRouter,
        scheduler: coreServices.scheduler,
        proposals: controlPlaneChangeProposalsExtensionPoint,
        catalog: catalogServiceRef,
        auth: coreServices.auth,
      },
      async init({
        config,
        logger,
        httpRouter,
        scheduler,
        proposals,
        catalog,
        auth,
      }) {
        const settings = readGitHubSettings(config);
        if (!settings) {
          logger.info(
            'GitHub is not configured (controlPlane.github.owner and .repo are not set): changes are not proposed as pull requests',
          );
          return;
        }
        const proposer = GitHubChangeProposer.fromConfig(
          settings,
          config,
          logger,
        );
        proposals.setChangeProposer(proposer);
        httpRouter.use(
          webhookRouter({
            secret: settings.webhookSecret,
            onEvent: () => proposer.notify(),
          }),
        );
        httpRouter.addAuthPolicy({
          path: '/github/webhook',
          allow: 'unauthenticated',
        });
        await scheduler.scheduleTask({
          id: 'control-plane-github-poll',
          frequency: { milliseconds: settings.pollIntervalMs },
          timeout: { minutes: 5 },
          initialDelay: { milliseconds: settings.pollIntervalMs },
          scope: 'global',
          fn: async () => proposer.notify(),
        });
        // Owner groups' GitHub teams come from the catalog (`github.com/team-slug`, written
        // by Backstage's GitHub org ingestion), read before a change is proposed.
        proposer.readTeamsWith(async () => {
          const { items } = await catalog.getEntities(
            {
              filter: { kind: 'Group' },
              fields: [
                'metadata.name',
                'metadata.namespace',
                'metadata.annotations',
              ],
            },
            { credentials: await auth.getOwnServiceCredentials() },
          );
          return teamsFromCatalog(settings.owner, items);
        });
        logger.info(
          `Changes needing review are proposed as pull requests on ${settings.owner}/${settings.repo}`,
        );
      },
    });
  },
});

/*
 * Local repositories for the example instance, which has no GitHub to publish to: a template
 * publishes a new component's files as a Git repository on this machine (`publish:local`) and
 * registers its catalog-info.yaml from there (`catalog:register:local`). An adopter uses
 * publish:github and catalog:register instead; nothing of the control plane depends on this.
 */
import {
  coreServices,
  createBackendModule,
  resolveSafeChildPath,
} from '@backstage/backend-plugin-api';
import { parseEntityRef, stringifyEntityRef } from '@backstage/catalog-model';
import { Config } from '@backstage/config';
import { InputError } from '@backstage/errors';
import {
  catalogLocationsExtensionPoint,
  catalogServiceRef,
} from '@backstage/plugin-catalog-node';
import {
  createTemplateAction,
  scaffolderActionsExtensionPoint,
} from '@backstage/plugin-scaffolder-node';
import { execFile } from 'node:child_process';
import { cp, mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';

const run = promisify(execFile);
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Where the repositories live: `localRepositories.directory`, relative to the working directory. */
export function repositoriesDirectory(config: Config): string {
  return resolve(
    config.getOptionalString('localRepositories.directory') ??
      '../../data/repositories',
  );
}

async function git(
  cwd: string,
  args: string[],
  env: Record<string, string> = {},
) {
  const { stdout } = await run('git', args, {
    cwd,
    env: {
      ...process.env,
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_TERMINAL_PROMPT: '0',
      ...env,
    },
  });
  return stdout.trim();
}

/** Replaces the files of the repository's work tree (all but .git) with those of `source`. */
async function replaceWorkTree(repo: string, source: string) {
  for (const entry of await readdir(repo)) {
    if (entry !== '.git') {
      await rm(join(repo, entry), { recursive: true, force: true });
    }
  }
  for (const entry of await readdir(source)) {
    if (entry !== '.git') {
      await cp(join(source, entry), join(repo, entry), { recursive: true });
    }
  }
}

/** `publish:local`: the task's files as a Git repository in the local repositories directory. */
export function createPublishLocalAction(directory: string) {
  return createTemplateAction({
    id: 'publish:local',
    description:
      'Publishes the workspace as a Git repository on the backend host (example instance only; use publish:github in production). Publishing identical files again makes no commit.',
    schema: {
      input: {
        repoName: z =>
          z
            .string()
            .max(63)
            .regex(DNS_LABEL, 'must be a DNS label, e.g. orders-service')
            .describe('the name of the repository'),
        sourcePath: z =>
          z
            .string()
            .optional()
            .describe(
              'a folder of the workspace to publish (default: all of it)',
            ),
      },
      output: {
        remoteUrl: z => z.string().describe('file:// URL of the repository'),
        repoContentsPath: z =>
          z.string().describe('the folder holding its files'),
        commitHash: z => z.string().describe('the commit now at its head'),
        created: z =>
          z.boolean().describe('false when the repository existed already'),
      },
    },
    async handler(ctx) {
      const source = ctx.input.sourcePath
        ? resolveSafeChildPath(ctx.workspacePath, ctx.input.sourcePath)
        : ctx.workspacePath;
      const repo = join(directory, ctx.input.repoName);
      const existed = await stat(join(repo, '.git')).then(
        () => true,
        () => false,
      );
      if (!existed) {
        await mkdir(repo, { recursive: true });
        await git(repo, ['init', '--quiet', '--initial-branch=main']);
      }
      await replaceWorkTree(repo, source);
      await git(repo, ['add', '--all']);
      const changed = await git(repo, ['status', '--porcelain']);
      if (changed) {
        const author = ctx.user?.ref ?? 'user:default/scaffolder';
        const who = {
          GIT_AUTHOR_NAME: author,
          GIT_AUTHOR_EMAIL: `${parseEntityRef(author).name}@localhost`,
          GIT_COMMITTER_NAME: 'Backstage scaffolder',
          GIT_COMMITTER_EMAIL: 'scaffolder@localhost',
        };
        await git(
          repo,
          [
            'commit',
            '--quiet',
            '-m',
            `${ctx.templateInfo?.entityRef ?? 'template'}: task ${ctx.task.id}`,
          ],
          who,
        );
        ctx.logger.info(`Published ${repo}`);
      } else {
        ctx.logger.info(`${repo} already holds these files: no new commit`);
      }
      ctx.output('remoteUrl', `file://${repo}`);
      ctx.output('repoContentsPath', repo);
      ctx.output('commitHash', await git(repo, ['rev-parse', 'HEAD']));
      ctx.output('created', !existed);
    },
  });
}

/** `catalog:register:local`: registers a catalog file of a local repository, once. */
export function createRegisterLocalAction(
  directory: string,
  catalog: typeof catalogServiceRef.T,
) {
  return createTemplateAction({
    id: 'catalog:register:local',
    description:
      'Registers the catalog-info.yaml of a local repository with the catalog (example instance only; use catalog:register in production). Registering it again is not an error.',
    schema: {
      input: {
        repoContentsPath: z =>
          z.string().describe('the repository, as publish:local outputs it'),
        catalogInfoPath: z =>
          z
            .string()
            .default('catalog-info.yaml')
            .describe('the catalog file, relative to the repository'),
      },
      output: {
        entityRef: z =>
          z.string().describe('the first entity the catalog file declares'),
        catalogInfoUrl: z => z.string(),
      },
    },
    async handler(ctx) {
      const repo = resolve(ctx.input.repoContentsPath);
      const inside = relative(directory, repo);
      if (!inside || inside.startsWith('..') || isAbsolute(inside)) {
        throw new InputError(
          `repoContentsPath: ${repo} is not a repository under ${directory}`,
        );
      }
      const target = resolveSafeChildPath(
        repo,
        ctx.input.catalogInfoPath ?? 'catalog-info.yaml',
      );
      const [first] = parseAllDocuments(await readFile(target, 'utf8')).map(d =>
        d.toJS(),
      );
      if (!first?.kind || !first?.metadata?.name) {
        throw new InputError(
          `catalogInfoPath: ${target} declares no entity (kind and metadata.name)`,
        );
      }
      const entityRef = stringifyEntityRef({
        kind: first.kind,
        namespace: first.metadata.namespace,
        name: first.metadata.name,
      });
      const credentials = await ctx.getInitiatorCredentials();
      try {
        await catalog.addLocation({ type: 'file', target }, { credentials });
        ctx.logger.info(`Registered ${target}`);
      } catch (error) {
        // The catalog client answers an existing location with a 409 ResponseError.
        if ((error as { statusCode?: number }).statusCode !== 409) throw error;
        ctx.logger.info(`${target} is registered already`);
        await catalog.refreshEntity(entityRef, { credentials });
      }
      ctx.output('entityRef', entityRef);
      ctx.output('catalogInfoUrl', `file://${target}`);
    },
  });
}

/** The two actions, for the scaffolder. */
export const scaffolderModuleLocalRepositories = createBackendModule({
  pluginId: 'scaffolder',
  moduleId: 'local-repositories',
  register(env) {
    env.registerInit({
      deps: {
        actions: scaffolderActionsExtensionPoint,
        config: coreServices.rootConfig,
        catalog: catalogServiceRef,
      },
      async init({ actions, config, catalog }) {
        const directory = repositoriesDirectory(config);
        actions.addActions(
          createPublishLocalAction(directory),
          createRegisterLocalAction(directory, catalog),
        );
      },
    });
  },
});

/** Lets the catalog read `file` locations, which catalog:register:local adds. */
export const catalogModuleLocalRepositories = createBackendModule({
  pluginId: 'catalog',
  moduleId: 'local-repositories',
  register(env) {
    env.registerInit({
      deps: { locations: catalogLocationsExtensionPoint },
      async init({ locations }) {
        locations.setAllowedLocationTypes(['url', 'file']);
      },
    });
  },
});

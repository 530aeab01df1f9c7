import { InputError, NotFoundError } from '@backstage/errors';
import {
  generatePathSchema,
  generateQuerySchema,
  generateResponseSchema,
  resourceReadPermission,
  stringifyResourceRef,
} from '@idp-multicloud/plugin-control-plane-common';
import { generators, selectUnits } from '../../generators';
import { routes } from '../route';
import { ApiServices } from './shared';

type Deps = Pick<ApiServices, 'resourceService' | 'authorizer'>;

const route = routes<Deps>();

export const generateRoutes = [
  route({
    method: 'get',
    path: '/generate/{format}',
    operationId: 'generate',
    summary:
      "Infrastructure as files: a component's or a project's resources as Docker Compose, Kubernetes manifests, Terraform or KCL",
    description:
      "Generated from the desired state (the state repository at its head) and each resource's product definition. A project is a catalog System (resources whose component is that System) together with the namespace of the same name. The resources depended on are included. Secrets are never values: each is a variable (Compose, Terraform) or a reference to a Kubernetes secret.",
    permission: resourceReadPermission,
    permissionNote:
      'Only resources the caller may read are generated; a dependency it cannot read is left out without being named.',
    request: { params: generatePathSchema, query: generateQuerySchema },
    response: {
      status: 200,
      schema: generateResponseSchema,
      description: 'The files, and the resources they describe',
    },
    run: async ({ params, query, ctx }, { resourceService, authorizer }) => {
      if (query.provider && params.format !== 'terraform') {
        throw new InputError(
          `provider: only terraform is written for a provider, not ${params.format}`,
        );
      }
      const [state, view] = await Promise.all([
        resourceService.current(),
        authorizer.view(ctx.credentials),
      ]);
      const scope = query.component
        ? { component: query.component }
        : { project: query.project! };
      const selection = selectUnits(
        {
          resources: state.ofKind('Resource'),
          product: (id, project) => state.product(id, project)?.spec,
          canRead: r =>
            view.canRead({
              ref: stringifyResourceRef(r.metadata),
              spec: r.spec,
            }),
        },
        scope,
      );
      if (selection.units.length === 0) {
        throw new NotFoundError(
          `No resources of ${
            'component' in scope
              ? `component ${scope.component}`
              : `project ${scope.project}`
          } that you can read`,
        );
      }
      const output = generators[params.format]({
        units: selection.units,
        provider: query.provider,
      });
      return {
        body: {
          format: params.format,
          resources: selection.units.map(u => u.ref),
          files: output.files,
          notes: [...selection.notes, ...output.notes],
        },
      };
    },
  }),
];

import { ConflictError, NotFoundError } from '@backstage/errors';
import {
  catalogReadPermission,
  complianceReportSchema,
  effectiveDefinitionSchema,
  projectPathSchema,
  projectProductPathSchema,
  stringifyResourceRef,
} from '@idp-multicloud/plugin-control-plane-common';
import {
  complianceReport,
  effectiveDefinitionView,
} from '../../projects/projectRules';
import { routes } from '../route';
import { ApiServices } from './shared';

type Deps = Pick<ApiServices, 'resourceService' | 'authorizer'>;

const route = routes<Deps>();

export const projectRoutes = [
  route({
    method: 'get',
    path: '/projects/{project}/products/{id}',
    operationId: 'getProjectProduct',
    summary:
      'The definition of a product a project sees, with where each field came from',
    description:
      "A project is a namespace. Its definitions (projects/<project>/products/<id>.yaml) extend the global products and narrow them; the answer is the effective definition its resources are validated against, the chain of definitions applied, and each field a person decides by (title, tiers, dependencies, each parameter's default and allowed values) with its origin: the global product or the project's file. A project without a definition of the product sees the global one.",
    permission: catalogReadPermission,
    request: { params: projectProductPathSchema },
    response: {
      status: 200,
      schema: effectiveDefinitionSchema,
      description: 'The effective definition',
    },
    run: async ({ params }, { resourceService }) => {
      const state = await resourceService.current();
      const resolution = state.definition(params.project, params.id);
      if (!resolution) {
        throw new NotFoundError(
          `No product ${params.id} in project ${params.project} nor in the global registry`,
        );
      }
      if (!resolution.ok) {
        throw new ConflictError(
          `The definition of ${params.id} in project ${
            params.project
          } is refused (${resolution.definition}: ${resolution.issues
            .map(i => `${i.path}: ${i.message}`)
            .join('; ')})`,
        );
      }
      return { body: effectiveDefinitionView(resolution) };
    },
  }),

  route({
    method: 'get',
    path: '/projects/{project}/compliance',
    operationId: 'getProjectCompliance',
    summary:
      "A project's compliance report: each rule, for the project and each of its resources",
    description:
      "The rules of the regimes the project's projects/<project>/project.yaml declares (pci-dss, hipaa, gdpr: encryption at rest and in transit, audit retention, data residency) and the cells it allows, each pass, fail or unverified (the product has no setting the control plane can check) with the reason; its approval policy and SLA per tier. Validation refuses what fails, so a failure here means a rule the desired state predates.",
    permission: catalogReadPermission,
    permissionNote:
      'Only resources the caller may read (`control-plane.resource.read`) are listed and checked.',
    request: { params: projectPathSchema },
    response: {
      status: 200,
      schema: complianceReportSchema,
      description: 'The compliance report',
    },
    run: async ({ params, ctx }, { resourceService, authorizer }) => {
      const [state, view] = await Promise.all([
        resourceService.current(),
        authorizer.view(ctx.credentials),
      ]);
      return {
        body: complianceReport(state, params.project, r =>
          view.canRead({ ref: stringifyResourceRef(r.metadata), spec: r.spec }),
        ),
      };
    },
  }),
];

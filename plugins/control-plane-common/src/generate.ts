import { z } from 'zod';
import type { BuiltinProductId } from './model/products';

/**
 * The formats the generators write a component's or a project's infrastructure in.
 * @public
 */
export const generateFormats = [
  'compose',
  'kubernetes',
  'terraform',
  'kcl',
] as const;

/**
 * A format the generators write.
 * @public
 */
export type GenerateFormat = (typeof generateFormats)[number];

/**
 * The cloud providers the Terraform generator writes resources for.
 * @public
 */
export const terraformProviders = ['aws', 'gcp', 'azure', 'oci'] as const;

/**
 * A provider the Terraform generator writes resources for.
 * @public
 */
export type TerraformProvider = (typeof terraformProviders)[number];

const catalogRef = (kinds: string[], example: string) =>
  z
    .string()
    .regex(
      new RegExp(
        `^((${kinds.join(
          '|',
        )}):)?([a-z0-9][-a-z0-9_.]{0,62}/)?[a-zA-Z0-9][-a-zA-Z0-9_.]{0,62}$`,
      ),
      `must be an entity ref, e.g. ${example}`,
    );

/**
 * `GET /generate/{format}` path.
 * @public
 */
export const generatePathSchema = z.object({
  format: z.enum(generateFormats),
});

/**
 * `GET /generate/{format}` query: whose resources (a component's, or a project's: a catalog
 * `System` or a namespace) and, for Terraform, which provider.
 * @public
 */
export const generateQuerySchema = z
  .object({
    component: catalogRef(['component'], 'component:default/checkout')
      .optional()
      .describe(
        'the catalog component whose resources to generate (kind and namespace optional)',
      ),
    project: catalogRef(['system'], 'payments or system:default/payments')
      .optional()
      .describe(
        'a project: the resources serving the catalog System (spec.component names it) and every resource in the namespace of that name',
      ),
    provider: z
      .enum(terraformProviders)
      .optional()
      .describe(
        "terraform only: write every resource for this provider; by default each resource's pinned placement, else aws",
      ),
  })
  .strict()
  .superRefine((q, ctx) => {
    if (!q.component === !q.project) {
      ctx.addIssue({
        code: 'custom',
        path: [q.component ? 'project' : 'component'],
        message: 'give exactly one of component and project',
      });
    }
  });

/**
 * The query of a generation.
 * @public
 */
export type GenerateQuery = z.input<typeof generateQuerySchema>;

/**
 * One file a generator wrote.
 * @public
 */
export const generatedFileSchema = z.object({
  path: z
    .string()
    .describe('where to write it, relative to the output directory'),
  content: z.string(),
});

/**
 * A generated file.
 * @public
 */
export type GeneratedFile = z.infer<typeof generatedFileSchema>;

/**
 * `GET /generate/{format}` answer: the files, and which resources they describe.
 * @public
 */
export const generateResponseSchema = z
  .object({
    format: z.enum(generateFormats),
    resources: z
      .array(z.string())
      .describe(
        'the resources generated (refs), dependencies first; only those the caller may read',
      ),
    files: z.array(generatedFileSchema),
    notes: z
      .array(z.string())
      .describe('what the generator left out or assumed, and why'),
  })
  .meta({ id: 'GenerateResponse' });

/**
 * The answer to a generation.
 * @public
 */
export type GenerateResponse = z.infer<typeof generateResponseSchema>;

/**
 * How a built-in product is claimed on Kubernetes: the Crossplane claim (API group and
 * version, kind) that a platform's compositions realise, and the port its consumers connect
 * to. The Kubernetes module's driver applies these claims; the Kubernetes generator writes
 * them.
 * @public
 */
export const builtinClaimKinds: Record<
  BuiltinProductId,
  { apiVersion: string; kind: string; port: number }
> = {
  mysql: {
    apiVersion: 'database.idp.multicloud/v1alpha1',
    kind: 'MySQLInstance',
    port: 3306,
  },
  postgres: {
    apiVersion: 'database.idp.multicloud/v1alpha1',
    kind: 'PostgreSQLInstance',
    port: 5432,
  },
  redis: {
    apiVersion: 'cache.idp.multicloud/v1alpha1',
    kind: 'RedisCache',
    port: 6379,
  },
  kafka: {
    apiVersion: 'messaging.idp.multicloud/v1alpha1',
    kind: 'KafkaCluster',
    port: 9092,
  },
  'object-bucket': {
    apiVersion: 'storage.idp.multicloud/v1alpha1',
    kind: 'Bucket',
    port: 443,
  },
  webapp: {
    apiVersion: 'apps.idp.multicloud/v1alpha1',
    kind: 'WebApp',
    port: 8080,
  },
};

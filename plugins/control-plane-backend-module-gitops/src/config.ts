import { Config } from '@backstage/config';
import { z } from 'zod';

const nameSchema = z
  .string()
  .regex(
    /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/,
    'must be a DNS label (lower case letters, digits and dashes)',
  )
  .max(63);

const durationSchema = z
  .string()
  .regex(
    /^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$/,
    'must be a Go duration such as 1m or 30s',
  );

const httpUrl = z
  .string()
  .url()
  .refine(
    u => u.startsWith('http://') || u.startsWith('https://'),
    'must be an http: or https: URL',
  );

const parentRefSchema = z.object({
  name: z.string().min(1),
  namespace: z.string().min(1).optional(),
  sectionName: z.string().min(1).optional(),
});

/** `controlPlane.delivery` (see config.d.ts). */
export const deliveryConfigSchema = z
  .object({
    repository: z.object({
      /** The deploy repository this backend writes: a local bare repository (made if absent). */
      path: z.string().min(1),
      /** The URL Argo CD and Flux clone it from. */
      url: z.string().min(1),
      /** A remote to push each render to (e.g. the same repository on GitHub). */
      pushUrl: z.string().min(1).optional(),
      branch: z
        .string()
        .regex(/^[A-Za-z0-9._/-]+$/, 'must be a branch name')
        .default('main'),
      authorName: z.string().min(1).default('IDP Multicloud control plane'),
      authorEmail: z.string().min(1).default('control-plane@idp.multicloud'),
    }),
    /** The Gateway the rendered HTTPRoutes of webapps attach to. */
    parentRefs: z.array(parentRefSchema).optional(),
    argocd: z
      .object({
        baseUrl: httpUrl,
        token: z.string().min(1),
        /** The namespace of Argo CD's Applications and ApplicationSets. */
        namespace: nameSchema.default('argocd'),
        project: z.string().min(1).default('default'),
        /** The Applications are named `<prefix><cluster>`. */
        applicationPrefix: z.string().default('idp-'),
        /** The clusters Argo CD delivers; all when left out. */
        clusters: z.array(z.string().min(1)).optional(),
        timeoutMs: z.number().int().positive().default(10_000),
      })
      .optional(),
    flux: z
      .object({
        /** The API server of the cluster Flux runs on (and its Kustomizations live on). */
        apiServer: z
          .object({
            url: httpUrl,
            token: z.string().min(1),
            caData: z.string().optional(),
            skipTLSVerify: z.boolean().default(false),
          })
          .refine(s => s.skipTLSVerify || !s.url.startsWith('http:'), {
            message:
              'an http: url needs skipTLSVerify: true (the Kubernetes client refuses plain HTTP otherwise)',
            path: ['url'],
          }),
        namespace: nameSchema.default('flux-system'),
        interval: durationSchema.default('1m'),
        /** The clusters Flux delivers; all when left out. */
        clusters: z.array(z.string().min(1)).optional(),
        /**
         * The Secret holding each target cluster's kubeconfig (`{{cluster}}` stands for its
         * name); without it the Kustomization applies to the cluster Flux runs on.
         */
        kubeConfigSecret: z.string().min(1).optional(),
      })
      .optional(),
  })
  .strict();

/** The settings of the GitOps module, parsed. */
export type DeliveryOptions = z.infer<typeof deliveryConfigSchema>;

/**
 * Reads `controlPlane.delivery`; undefined when it is not set (the module then does nothing).
 * Throws naming every fault of a bad configuration.
 */
export function readDeliveryOptions(root: Config): DeliveryOptions | undefined {
  if (!root.has('controlPlane.delivery')) return undefined;
  const raw = root.get('controlPlane.delivery');
  const parsed = deliveryConfigSchema.safeParse(raw);
  if (!parsed.success) {
    throw new Error(
      `controlPlane.delivery is not valid: ${parsed.error.issues
        .map(
          i =>
            `${['controlPlane.delivery', ...i.path].join('.')}: ${i.message}`,
        )
        .join('; ')}`,
    );
  }
  return parsed.data;
}

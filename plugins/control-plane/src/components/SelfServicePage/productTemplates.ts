import { Entity } from '@backstage/catalog-model';
import { useApi } from '@backstage/frontend-plugin-api';
import {
  CATALOG_FILTER_EXISTS,
  catalogApiRef,
} from '@backstage/plugin-catalog-react';
import useAsync from 'react-use/esm/useAsync';

/**
 * The annotation of a scaffolder Template naming the control plane products it provisions,
 * comma-separated, e.g. `idp.multicloud/products: webapp, mysql, redis`. The self-service
 * catalog's "Request" leads to the templates that carry it.
 * @public
 */
export const ANNOTATION_TEMPLATE_PRODUCTS = 'idp.multicloud/products';

/** A template that provisions a product, as the self-service catalog links to it. */
export interface ProductTemplate {
  namespace: string;
  name: string;
  title: string;
  /** Every product it provisions. */
  products: string[];
  /** Its `tier` parameter's allowed values; `undefined` when it has no such parameter. */
  tiers?: string[];
}

const productsOf = (entity: Entity) =>
  (entity.metadata.annotations?.[ANNOTATION_TEMPLATE_PRODUCTS] ?? '')
    .split(',')
    .map(p => p.trim())
    .filter(Boolean);

/** The `tier` parameter of a template's form, if one of its steps asks for it. */
function tierParameter(entity: Entity): { enum?: unknown[] } | undefined {
  const raw = (entity.spec as { parameters?: unknown } | undefined)?.parameters;
  const steps = (Array.isArray(raw) ? raw : [raw]) as Array<
    { properties?: Record<string, { enum?: unknown[] }> } | undefined
  >;
  return steps.find(step => step?.properties?.tier)?.properties?.tier;
}

function toProductTemplate(entity: Entity): ProductTemplate {
  const tier = tierParameter(entity);
  return {
    namespace: entity.metadata.namespace ?? 'default',
    name: entity.metadata.name,
    title: entity.metadata.title ?? entity.metadata.name,
    products: productsOf(entity),
    tiers: tier ? (tier.enum ?? []).map(String) : undefined,
  };
}

/**
 * The templates that provision `product`, the most specific first (those provisioning
 * fewer products), then by title.
 */
export function templatesFor(
  product: string,
  templates: ProductTemplate[],
): ProductTemplate[] {
  return templates
    .filter(t => t.products.includes(product))
    .sort(
      (a, b) =>
        a.products.length - b.products.length || a.title.localeCompare(b.title),
    );
}

/** What to prefill in a template's form: the chosen tier, when the template asks for one. */
export function prefill(
  template: ProductTemplate,
  tier: string | undefined,
): Record<string, string> | undefined {
  if (!tier || !template.tiers) return undefined;
  if (template.tiers.length > 0 && !template.tiers.includes(tier)) {
    return undefined;
  }
  return { tier };
}

/** The catalog's templates annotated with the products they provision. */
export function useProductTemplates() {
  const catalogApi = useApi(catalogApiRef);
  return useAsync(async () => {
    const { items } = await catalogApi.getEntities({
      filter: {
        kind: 'template',
        [`metadata.annotations.${ANNOTATION_TEMPLATE_PRODUCTS}`]:
          CATALOG_FILTER_EXISTS,
      },
      fields: [
        'kind',
        'metadata.name',
        'metadata.namespace',
        'metadata.title',
        'metadata.annotations',
        'spec.parameters',
      ],
    });
    return items.map(toProductTemplate);
  }, [catalogApi]);
}

import {
  ObjectKey,
  ownValue,
  ProductSpec,
  productParametersSchema,
} from '@idp-multicloud/plugin-control-plane-common';
import { DesiredState, ObjectIssue } from './DesiredState';

/** The storage a resource's parameters ask for, in GiB, with the product's defaults. */
export function storageOf(
  productId: string,
  product: ProductSpec,
  params: Record<string, unknown>,
): number | undefined {
  if (!product.storageParameter) return undefined;
  const parsed = productParametersSchema(productId, product).safeParse(params);
  const source = parsed.success
    ? (parsed.data as Record<string, unknown>)
    : params;
  const value = ownValue(source, product.storageParameter);
  return typeof value === 'number' ? value : undefined;
}

/**
 * Resources a change makes smaller in storage than they are, when their product does not
 * say its storage may shrink (`storageShrink`): however the change arrives (an update, a
 * manifest applied, a push), a volume that only grows is refused before the commit, not
 * failed in the saga.
 */
export function storageShrinkIssues(
  before: DesiredState,
  after: DesiredState,
  changed: ObjectKey[],
): ObjectIssue[] {
  const issues: ObjectIssue[] = [];
  for (const key of changed) {
    if (key.kind !== 'Resource') continue;
    const was = before.get('Resource', key.name, key.namespace);
    const now = after.get('Resource', key.name, key.namespace);
    if (!was || !now || was.spec.product !== now.spec.product) continue;
    const product = after.product(now.spec.product);
    const parameter = product?.spec.storageParameter;
    if (!product || !parameter || product.spec.storageShrink) continue;
    const from = storageOf(product.id, product.spec, was.spec.params);
    const to = storageOf(product.id, product.spec, now.spec.params);
    if (from !== undefined && to !== undefined && to < from) {
      issues.push({
        key,
        path: `spec.params.${parameter}`,
        message: `storage cannot shrink from ${from} GiB to ${to} GiB (product ${product.id} does not support shrinking storage)`,
      });
    }
  }
  return issues;
}

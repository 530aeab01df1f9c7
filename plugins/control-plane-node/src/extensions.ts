import { createExtensionPoint } from '@backstage/backend-plugin-api';
import { ProductSpec } from '@idp-multicloud/plugin-control-plane-common';

/**
 * Lets a backend module offer products besides the built-in ones. A product declared in the
 * state repository with the same id takes precedence.
 * @public
 */
export interface ControlPlaneProductsExtensionPoint {
  addProduct(id: string, spec: ProductSpec): void;
}

/**
 * The extension point for products.
 * @public
 */
export const controlPlaneProductsExtensionPoint =
  createExtensionPoint<ControlPlaneProductsExtensionPoint>({
    id: 'control-plane.products',
  });

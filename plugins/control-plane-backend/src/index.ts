export { controlPlanePlugin as default } from './plugin';
/**
 * Checks a checkout of the state repository without a server (`idp validate`).
 * @public
 */
export { validateCheckout } from './gitops/checkout';
export type { CheckFinding, CheckoutReport } from './gitops/checkout';

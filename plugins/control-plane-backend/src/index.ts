export { controlPlanePlugin as default } from './plugin';
/**
 * Checks a checkout of the state repository without a server (`idp validate`).
 * @public
 */
export { validateCheckout } from './validation/checkout';
export type { CheckFinding, CheckoutReport } from './validation/checkout';

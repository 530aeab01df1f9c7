/**
 * `idp`: the command line of the IDP Multicloud control plane.
 *
 * @packageDocumentation
 */

export { main } from './main';

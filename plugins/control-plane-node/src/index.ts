/**
 * Extension points, driver interfaces and permission rules for backend modules of the IDP
 * Multicloud control plane.
 *
 * @packageDocumentation
 */

export * from './permissions';
export * from './extensions';
export * from './drivers';
export * from './policy';
export * from './metrics';
export * from './traffic';
export * from './analysis';
export * from './clusters';
export * from './changeProposals';
export * from './delivery';
export * from './workloads';

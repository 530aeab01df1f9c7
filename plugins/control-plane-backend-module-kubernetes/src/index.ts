/**
 * The Kubernetes driver of the IDP Multicloud control plane: resources realised as Crossplane
 * claims with server-side apply, network policies and external-dns endpoints.
 *
 * @packageDocumentation
 */

export { controlPlaneModuleKubernetes as default } from './module';
export { KubernetesDriver } from './KubernetesDriver';
export type { KubernetesClaimMapping } from './claims';
export type {
  KubernetesClusterConfig,
  KubernetesDriverOptions,
} from './config';
export { controlPlaneModuleKubernetesTraffic } from './trafficModule';
export { GatewayApiTrafficRouter } from './GatewayApiTrafficRouter';
export type { GatewayApiRoutingOptions } from './httpRoute';
// The builders of what the driver applies, for modules that render the same objects (the
// GitOps module writes them to a deploy repository).
export { buildClaim, resolveClaimMappings } from './claims';
export type { KubeObject, ResolvedClaimMapping } from './claims';
export { dnsEndpoint, dnsHostname, networkPolicy } from './networking';
export { buildHttpRoute } from './httpRoute';
export { readGatewayApiRoutingOptions } from './trafficModule';

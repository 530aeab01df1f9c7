/*
 * How a resource is reached: the in-cluster host of its service, the `NetworkPolicy` that
 * opens it to its namespace, and the external-dns `DNSEndpoint` that publishes its name.
 */
import { V1NetworkPolicy } from '@kubernetes/client-node';
import {
  DriverResource,
  DriverTarget,
} from '@idp-multicloud/plugin-control-plane-node';
import { LABELS, labelsOf } from './claims';
import { ObjectRef } from './objectRef';

/** The in-cluster host of the resource's service. */
export function serviceHost(resource: DriverResource): string {
  return `${resource.name}.${resource.namespace}.svc.cluster.local`;
}

/** The NetworkPolicy `<name>-ingress`. */
export function networkPolicyRef(resource: DriverResource): ObjectRef {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: {
      name: `${resource.name}-ingress`,
      namespace: resource.namespace,
    },
  };
}

/**
 * The policy that lets every pod of the resource's namespace in, to `port` only.
 * @public
 */
export function networkPolicy(
  resource: DriverResource,
  port: number,
): V1NetworkPolicy {
  const ref = networkPolicyRef(resource);
  // typed: the client serializes known kinds through its models, where `from` is `_from`
  return {
    ...ref,
    metadata: { ...ref.metadata, labels: labelsOf(resource) },
    spec: {
      podSelector: { matchLabels: { [LABELS.resourceUid]: resource.uid } },
      policyTypes: ['Ingress'],
      // from every pod of the resource's namespace, to its port only
      ingress: [
        { _from: [{ podSelector: {} }], ports: [{ protocol: 'TCP', port }] },
      ],
    },
  };
}

/**
 * The name the resource is published under: `<name>.<namespace>.<cell>.idp.internal`.
 * @public
 */
export function dnsHostname(
  resource: DriverResource,
  target: DriverTarget,
): string {
  return `${resource.name}.${resource.namespace}.${target.cell}.idp.internal`;
}

/** The DNSEndpoint `<name>-dns`. */
export function dnsEndpointRef(resource: DriverResource): ObjectRef {
  return {
    apiVersion: 'externaldns.k8s.io/v1alpha1',
    kind: 'DNSEndpoint',
    metadata: { name: `${resource.name}-dns`, namespace: resource.namespace },
  };
}

/**
 * The endpoint that has external-dns publish `hostname` as a CNAME of the service host.
 * @public
 */
export function dnsEndpoint(resource: DriverResource, hostname: string) {
  const ref = dnsEndpointRef(resource);
  return {
    ...ref,
    metadata: { ...ref.metadata, labels: labelsOf(resource) },
    spec: {
      endpoints: [
        {
          dnsName: hostname,
          recordType: 'CNAME',
          targets: [serviceHost(resource)],
        },
      ],
    },
  };
}

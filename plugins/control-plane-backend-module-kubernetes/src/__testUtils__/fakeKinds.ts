/**
 * A kind the fake serves. All kinds are namespaced.
 */
export interface FakeKind {
  apiVersion: string;
  kind: string;
  plural: string;
}

/** The kinds the fake serves unless told otherwise: the claims, NetworkPolicy, DNSEndpoint, Secret, HTTPRoute. */
export const defaultFakeKinds: FakeKind[] = [
  {
    apiVersion: 'database.idp.multicloud/v1alpha1',
    kind: 'MySQLInstance',
    plural: 'mysqlinstances',
  },
  {
    apiVersion: 'database.idp.multicloud/v1alpha1',
    kind: 'PostgreSQLInstance',
    plural: 'postgresqlinstances',
  },
  {
    apiVersion: 'cache.idp.multicloud/v1alpha1',
    kind: 'RedisCache',
    plural: 'rediscaches',
  },
  {
    apiVersion: 'messaging.idp.multicloud/v1alpha1',
    kind: 'KafkaCluster',
    plural: 'kafkaclusters',
  },
  {
    apiVersion: 'storage.idp.multicloud/v1alpha1',
    kind: 'Bucket',
    plural: 'buckets',
  },
  {
    apiVersion: 'apps.idp.multicloud/v1alpha1',
    kind: 'WebApp',
    plural: 'webapps',
  },
  {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    plural: 'networkpolicies',
  },
  {
    apiVersion: 'externaldns.k8s.io/v1alpha1',
    kind: 'DNSEndpoint',
    plural: 'dnsendpoints',
  },
  { apiVersion: 'v1', kind: 'Secret', plural: 'secrets' },
  {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    plural: 'httproutes',
  },
];

/** The discovery document of an API group version (`GET /apis/<group>/<version>`). */
export function discovery(apiVersion: string, kinds: FakeKind[]) {
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: apiVersion,
    resources: kinds.map(k => ({
      name: k.plural,
      singularName: k.kind.toLowerCase(),
      namespaced: true,
      kind: k.kind,
      verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
    })),
  };
}

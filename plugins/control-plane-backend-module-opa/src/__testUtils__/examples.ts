import {
  PolicyInput,
  PolicyViolation,
} from '@idp-multicloud/plugin-control-plane-node';

/**
 * A complete input document: team payments asks for a MySQL, tier high, in cell-us. The same
 * document is shown in the README.
 */
export function exampleInput(
  overrides: {
    [K in keyof PolicyInput]?: Partial<PolicyInput[K]>;
  } = {},
): PolicyInput {
  const input: PolicyInput = {
    action: 'resource.create',
    actor: { ref: 'user:default/jane' },
    resource: {
      ref: 'resource:payments/orders-db',
      namespace: 'payments',
      name: 'orders-db',
      product: 'mysql',
      owner: 'group:default/payments',
      component: 'component:default/orders',
      tier: 'high',
      cell: 'cell-us',
      params: { version: '8.0', storageGi: 50 },
      dependsOn: [],
      labels: { 'cost-center': 'cc-42' },
    },
    product: {
      id: 'mysql',
      category: 'database',
      tiers: ['critical', 'high', 'medium', 'low'],
      operations: ['backup', 'restore', 'failover', 'scale'],
    },
    tier: {
      id: 'high',
      requiredFeatures: { backups: true, multiAZ: true, encryption: true },
      sla: {
        availability: 99.9,
        p99LatencyMs: 50,
        rtoMinutes: 60,
        rpoMinutes: 15,
      },
    },
    cell: { id: 'cell-us', geo: 'us' },
    quotas: [
      {
        quota: 'team-payments',
        scope: { kind: 'team', name: 'group:default/payments' },
        limits: { maxInstances: 20, maxMonthlyCost: 5000 },
        usage: { instances: 7, storageGi: 400, monthlyCost: 3900 },
        request: { instances: 1, storageGi: 50, monthlyCost: 420 },
      },
    ],
    cost: { monthly: 420, currency: 'USD' },
    policies: {},
    time: '2026-11-24T10:15:00.000Z',
  };
  for (const [key, value] of Object.entries(overrides)) {
    const k = key as keyof PolicyInput;
    const current = input[k];
    (input as any)[k] =
      current && typeof current === 'object' && !Array.isArray(current)
        ? { ...current, ...(value as object) }
        : value;
  }
  return input;
}

/**
 * The input document of an operation that changes nothing in Git: a failover of the same
 * MySQL (`previous` is the resource as it is, `operation` says what is asked, and it adds
 * nothing to any quota). The same document is shown in the README.
 */
export function exampleOperationInput(): PolicyInput {
  const input = exampleInput({
    action: 'resource.failover',
    actor: { ref: 'user:default/omar' },
  });
  return {
    ...input,
    previous: { ...input.resource },
    operation: { type: 'failover', params: {} },
    quotas: input.quotas.map(q => ({
      ...q,
      request: { instances: 0, storageGi: 0, monthlyCost: 0 },
    })),
  };
}

/**
 * The README's example Rego policy (package `idp.controlplane`), written in TypeScript for the
 * fake OPA: the same rules, codes, fields and messages.
 */
const platformOwners = ['group:default/platform', 'group:platform'];

export function examplePolicy(input: PolicyInput) {
  const deny: PolicyViolation[] = [];
  const { resource, cell } = input;

  if (
    resource.tier === 'critical' &&
    !cell.dataResidency &&
    !platformOwners.includes(resource.owner)
  ) {
    deny.push({
      code: 'tier.critical.dataResidency',
      message: `tier critical needs a cell with data residency; ${cell.id} has none`,
      field: 'cell',
    });
  }

  if (
    resource.product === 'object-bucket' &&
    resource.params.publicRead === true
  ) {
    deny.push({
      code: 'bucket.publicRead',
      message: 'object buckets may not be publicly readable',
      field: 'params.publicRead',
      status: 422,
    });
  }

  for (const quota of input.quotas) {
    const limit = quota.limits.maxMonthlyCost;
    const added = quota.request.monthlyCost;
    const total = quota.usage.monthlyCost + added;
    if (
      quota.scope.kind === 'team' &&
      limit !== undefined &&
      added > 0 &&
      total > limit
    ) {
      deny.push({
        code: 'quota.maxMonthlyCost',
        message: `${resource.ref} would add ${added} USD a month, taking ${quota.scope.name} to ${total} USD of the ${limit} USD of quota ${quota.quota}`,
        field: 'params',
      });
    }
  }

  if (
    input.action === 'resource.delete' &&
    resource.labels.protected === 'true'
  ) {
    deny.push({
      code: 'resource.protected',
      message: `${resource.ref} is protected: remove its label protected before deleting it`,
      field: 'labels.protected',
    });
  }

  if (input.operation && resource.labels.freeze === 'true') {
    deny.push({
      code: 'resource.frozen',
      message: `${resource.ref} is in a change freeze: no ${input.operation.type} until its label freeze is removed`,
      field: 'labels.freeze',
    });
  }

  return { allow: deny.length === 0, deny };
}

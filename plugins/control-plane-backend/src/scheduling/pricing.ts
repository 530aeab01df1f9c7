/**
 * List prices the control plane estimates costs with, in USD: per hour of each size class of
 * each product (per replica or broker), and per GiB-month of storage, adjusted per provider.
 * Figures follow the providers' public on-demand list prices for comparable managed
 * services (2026); override them with `controlPlane.pricing` in app-config.
 */
export interface PriceList {
  /** Hourly price of one replica of each size class, per product. */
  hourly: Record<string, Record<string, number>>;
  /** Block storage per GiB-month (databases, Kafka). */
  storagePerGiMonth: number;
  /** Object storage per GiB-month, per storage class. */
  objectStoragePerGiMonth: Record<string, number>;
  /** Multiplier of the provider's compute prices against the base table. */
  providers: Record<string, { compute: number; storagePerGiMonth?: number }>;
}

export const HOURS_PER_MONTH = 730;

export const defaultPriceList: PriceList = {
  hourly: {
    mysql: { small: 0.034, medium: 0.178, large: 0.356, xlarge: 1.0 },
    postgres: { small: 0.036, medium: 0.182, large: 0.364, xlarge: 1.04 },
    redis: { small: 0.034, medium: 0.068, large: 0.206, xlarge: 0.411 },
    kafka: { small: 0.052, medium: 0.21, large: 0.42, xlarge: 0.84 },
    webapp: { small: 0.012, medium: 0.025, large: 0.05, xlarge: 0.1 },
  },
  storagePerGiMonth: 0.115,
  objectStoragePerGiMonth: {
    standard: 0.023,
    infrequent: 0.0125,
    archive: 0.004,
  },
  providers: {
    aws: { compute: 1.0, storagePerGiMonth: 0.115 },
    gcp: { compute: 0.96, storagePerGiMonth: 0.17 },
    azure: { compute: 1.02, storagePerGiMonth: 0.115 },
    oci: { compute: 0.78, storagePerGiMonth: 0.0255 },
  },
};

/** The parts of a resource that cost money. */
export interface CostInput {
  product: string;
  category: string;
  params: Record<string, any>;
  replicasParameter?: string;
  storageParameter?: string;
}

/** Replicas that cost: databases and caches pay for their primary besides read replicas. */
export function billedReplicas(input: CostInput): number {
  const primary =
    input.category === 'database' || input.category === 'cache' ? 1 : 0;
  const declared = input.replicasParameter
    ? Number(input.params[input.replicasParameter] ?? 1)
    : 1;
  return Math.max(1, declared + primary);
}

/** Estimated monthly cost of a resource on a provider, USD, rounded to cents. */
export function monthlyCost(
  prices: PriceList,
  provider: string,
  input: CostInput,
): number {
  const adjust = prices.providers[provider] ?? { compute: 1 };
  const replicas = billedReplicas(input);
  let cost = 0;
  if (input.product === 'object-bucket' || input.category === 'storage') {
    const perGi =
      prices.objectStoragePerGiMonth[input.params.storageClass ?? 'standard'] ??
      0.023;
    const copies = input.params.replication ? 2 : 1;
    cost =
      Number(input.params.storageGi ?? 0) * perGi * copies * adjust.compute;
  } else {
    const hourly =
      prices.hourly[input.product]?.[input.params.size ?? 'medium'] ?? 0;
    cost = hourly * adjust.compute * HOURS_PER_MONTH * replicas;
    if (input.storageParameter) {
      const storagePrice = adjust.storagePerGiMonth ?? prices.storagePerGiMonth;
      cost +=
        Number(input.params[input.storageParameter] ?? 0) *
        storagePrice *
        replicas;
    }
  }
  return Math.round(cost * 100) / 100;
}

import { resolvePackagePath } from '@backstage/backend-plugin-api';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  describeIssues,
  ownValue,
  toValidationIssues,
} from '@idp-multicloud/plugin-control-plane-common';
import { z } from 'zod';
import { DesiredState } from '../gitops/DesiredState';
import { parseYamlFile } from '../gitops/yaml';

const pricesSchema = z.record(z.string().min(1), z.number().nonnegative());

/** One provider's list prices, in USD. */
const providerPricesSchema = z
  .object({
    /** Hourly price of one replica (or broker) of each size class, per product. */
    hourly: z.record(z.string().min(1), pricesSchema),
    /** Block storage per GiB-month (databases, Kafka). */
    storagePerGiMonth: z.number().nonnegative(),
    /** Object storage per GiB-month, per storage class. */
    objectStoragePerGiMonth: pricesSchema,
  })
  .strict();

/** One provider's list prices, in USD. */
export type ProviderPrices = z.infer<typeof providerPricesSchema>;

/**
 * List prices the control plane estimates costs with, per provider (`default` prices the
 * providers without a table of their own). The defaults ship as YAML in the package's
 * `pricing/` folder, one file per provider; `controlPlane.pricing` overrides single prices.
 */
export type PriceList = Record<string, ProviderPrices>;

const priceFileSchema = providerPricesSchema.extend({
  provider: z.string().min(1),
  currency: z.literal('USD'),
});

export const HOURS_PER_MONTH = 730;

/** Reads the price tables of a folder: one `<provider>.yaml` each. */
export function readPriceFiles(dir: string): PriceList {
  const entries: [string, ProviderPrices][] = [];
  for (const file of readdirSync(dir)
    .filter(f => f.endsWith('.yaml'))
    .sort()) {
    const parsed = priceFileSchema.safeParse(
      parseYamlFile(
        readFileSync(join(dir, file), 'utf8'),
        `price table ${file}`,
      ),
    );
    if (!parsed.success) {
      throw new Error(
        `price table ${file}: ${describeIssues(
          toValidationIssues(parsed.error),
        )}`,
      );
    }
    const { provider, currency: _currency, ...prices } = parsed.data;
    if (`${provider}.yaml` !== file) {
      throw new Error(`price table ${file} is of provider ${provider}`);
    }
    entries.push([provider, prices]);
  }
  // Object.fromEntries defines own keys: a provider named __proto__ is a key like any other.
  const list: PriceList = Object.fromEntries(entries);
  if (!ownValue(list, 'default')) {
    throw new Error(`no default.yaml among the price tables of ${dir}`);
  }
  return list;
}

let shipped: PriceList | undefined;

/** The price tables this package ships (`pricing/*.yaml`). */
export function defaultPriceList(): PriceList {
  shipped ??= readPriceFiles(
    resolvePackagePath(
      '@idp-multicloud/plugin-control-plane-backend',
      'pricing',
    ),
  );
  return shipped;
}

/**
 * Merges overrides (`controlPlane.pricing`: per provider, any of its prices) over a price
 * list; a provider that has no table yet starts from the `default` one.
 */
export function mergePrices(
  base: PriceList,
  overrides: Record<string, unknown>,
): PriceList {
  const merged = new Map(Object.entries(base));
  for (const [provider, raw] of Object.entries(overrides)) {
    const parsed = providerPricesSchema.partial().safeParse(raw);
    if (!parsed.success) {
      throw new Error(
        `controlPlane.pricing.${provider}: ${describeIssues(
          toValidationIssues(parsed.error),
        )}`,
      );
    }
    const from = ownValue(base, provider) ?? base.default;
    const over = parsed.data;
    const hourly = new Map(Object.entries(from.hourly));
    for (const [product, sizes] of Object.entries(over.hourly ?? {})) {
      hourly.set(product, { ...hourly.get(product), ...sizes });
    }
    merged.set(provider, {
      hourly: Object.fromEntries(hourly),
      storagePerGiMonth: over.storagePerGiMonth ?? from.storagePerGiMonth,
      objectStoragePerGiMonth: {
        ...from.objectStoragePerGiMonth,
        ...over.objectStoragePerGiMonth,
      },
    });
  }
  return Object.fromEntries(merged);
}

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
    ? Number(ownValue(input.params, input.replicasParameter) ?? 1)
    : 1;
  return Math.max(1, declared + primary);
}

/** Estimated monthly cost of a resource on a provider, USD, rounded to cents. */
export function monthlyCost(
  prices: PriceList,
  provider: string,
  input: CostInput,
): number {
  const table = ownValue(prices, provider) ?? prices.default;
  const replicas = billedReplicas(input);
  let cost = 0;
  if (input.product === 'object-bucket' || input.category === 'storage') {
    const perGi =
      ownValue(
        table.objectStoragePerGiMonth,
        String(input.params.storageClass ?? 'standard'),
      ) ??
      table.objectStoragePerGiMonth.standard ??
      0;
    const copies = input.params.replication ? 2 : 1;
    cost = Number(input.params.storageGi ?? 0) * perGi * copies;
  } else {
    const hourly =
      ownValue(
        ownValue(table.hourly, input.product),
        String(input.params.size ?? 'medium'),
      ) ?? 0;
    cost = hourly * HOURS_PER_MONTH * replicas;
    if (input.storageParameter) {
      cost +=
        Number(ownValue(input.params, input.storageParameter) ?? 0) *
        table.storagePerGiMonth *
        replicas;
    }
  }
  return Math.round(cost * 100) / 100;
}

/** A monthly estimate on one provider. */
export interface ProviderCost {
  provider: string;
  monthlyCost: number;
}

/**
 * Prices resources with a price list and the product definitions of a desired state: what
 * the scheduler scores candidates with, quotas and budgets count, and cost reports charge.
 */
export class Pricing {
  constructor(readonly prices: PriceList) {}

  /** Estimated monthly cost of a resource on a provider, USD. */
  monthlyCost(
    desired: DesiredState,
    product: string,
    params: Record<string, unknown>,
    provider: string,
  ): number {
    const spec = desired.product(product)?.spec;
    return monthlyCost(this.prices, provider, {
      product,
      category: spec?.category ?? 'compute',
      params,
      replicasParameter: spec?.replicasParameter,
      storageParameter: spec?.storageParameter,
    });
  }

  /**
   * The monthly estimate on each provider with a cluster in the cell (every provider with a
   * cluster, without a cell), cheapest first; ties go to the provider's name.
   */
  byProvider(
    desired: DesiredState,
    product: string,
    params: Record<string, unknown>,
    cell?: string,
  ): ProviderCost[] {
    const providers = [
      ...new Set(
        desired
          .ofKind('Cluster')
          .filter(c => !cell || c.spec.cell === cell)
          .map(c => c.spec.provider),
      ),
    ];
    return providers
      .map(provider => ({
        provider,
        monthlyCost: this.monthlyCost(desired, product, params, provider),
      }))
      .sort(
        (a, b) =>
          a.monthlyCost - b.monthlyCost || a.provider.localeCompare(b.provider),
      );
  }
}

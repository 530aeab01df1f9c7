import { z } from 'zod';
import {
  builtinProductParameters,
  builtinProducts,
  ProductSpec,
} from './products';
import { TierId, TierSpec } from './tiers';
import { ownValue } from './lookup';
import { secretValueIssues, withSecretReferences } from './secrets';

/**
 * One thing wrong with an input: the field (a dotted path) and why.
 * @public
 */
export interface ValidationIssue {
  path: string;
  message: string;
}

/**
 * Turns zod issues into {@link ValidationIssue}s, their paths under `prefix`.
 * @public
 */
export function toValidationIssues(
  error: z.ZodError,
  prefix: string = '',
): ValidationIssue[] {
  return error.issues.map(issue => {
    const path = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
    return { path: path || '(root)', message: issue.message };
  });
}

/**
 * A one-line description of issues, naming each field.
 * @public
 */
export function describeIssues(issues: ValidationIssue[]): string {
  return issues.map(i => `${i.path}: ${i.message}`).join('; ');
}

const validators = new WeakMap<object, z.ZodType>();

/**
 * The zod schema that validates a product's parameters. Built-in products keep their
 * hand-written schemas (with refinements); products declared as YAML are validated by the
 * JSON Schema they declare.
 * @public
 */
export function productParametersSchema(
  id: string,
  spec: ProductSpec,
): z.ZodType {
  const builtin = ownValue<ProductSpec>(builtinProducts, id);
  const builtinSchema = ownValue<z.ZodType>(builtinProductParameters, id);
  if (builtin && builtinSchema && builtin.parameters === spec.parameters) {
    return builtinSchema;
  }
  let schema = validators.get(spec.parameters);
  if (!schema) {
    schema = z.fromJSONSchema(
      // Secret parameters take a reference (see secrets.ts).
      withSecretReferences(spec.parameters) as z.core.JSONSchema.JSONSchema,
    );
    validators.set(spec.parameters, schema);
  }
  return schema;
}

function getPath(value: unknown, path: string[]): unknown {
  return path.reduce<unknown>(
    (v, key) =>
      v && typeof v === 'object'
        ? ownValue(v as Record<string, unknown>, key)
        : undefined,
    value,
  );
}

function setPath(
  value: Record<string, unknown>,
  path: string[],
  leaf: unknown,
) {
  let node = value;
  for (const key of path.slice(0, -1)) {
    const next = ownValue(node, key);
    if (!next || typeof next !== 'object') {
      Object.defineProperty(node, key, {
        value: {},
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    node = node[key] as Record<string, unknown>;
  }
  Object.defineProperty(node, path[path.length - 1], {
    value: leaf,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

const featureNames = {
  backups: 'backups',
  multiAZ: 'multi-AZ',
  encryption: 'encryption',
};

/**
 * Validates a resource's parameters against its product and tier:
 *
 * - the tier must be one the product supports;
 * - each feature the tier requires is switched on when the request leaves it out, and a
 *   request that switches it off is refused; a product that provides no such feature is
 *   refused for the tier, unless it waives the feature (`waivedFeatures`, with the reason);
 * - the parameters must match the product's schema (its defaults filled in).
 *
 * Returns the parameters with defaults, or the issues, paths under `spec.`.
 * @public
 */
export function validateResourceParameters(options: {
  productId: string;
  product: ProductSpec;
  tierId: TierId;
  tier: TierSpec;
  params: Record<string, unknown>;
}):
  | { ok: true; params: Record<string, unknown> }
  | { ok: false; issues: ValidationIssue[] } {
  const { productId, product, tierId, tier } = options;
  if (!product.tiers.includes(tierId)) {
    return {
      ok: false,
      issues: [
        {
          path: 'spec.tier',
          message: `product ${productId} does not offer tier ${tierId} (it offers ${product.tiers.join(
            ', ',
          )})`,
        },
      ],
    };
  }

  const params = structuredClone(options.params ?? {});
  const issues: ValidationIssue[] = [];
  for (const feature of ['backups', 'multiAZ', 'encryption'] as const) {
    const param = product.features[feature];
    if (!tier.requiredFeatures[feature] || product.waivedFeatures?.[feature]) {
      continue;
    }
    if (!param) {
      issues.push({
        path: 'spec.tier',
        message: `tier ${tierId} requires ${featureNames[feature]}, which product ${productId} does not provide (it names no parameter for it in features.${feature}, nor a reason in waivedFeatures.${feature}); choose another tier or product`,
      });
      continue;
    }
    const path = param.split('.');
    const given = getPath(params, path);
    if (given === undefined) {
      setPath(params, path, true);
    } else if (given === false) {
      issues.push({
        path: `spec.params.${param}`,
        message: `tier ${tierId} requires ${featureNames[feature]}; it cannot be turned off`,
      });
    }
  }
  if (issues.length > 0) {
    return { ok: false, issues };
  }

  // Secrets are references, never values (see secrets.ts).
  const secrets = secretValueIssues(product.parameters, params);
  if (secrets.length > 0) return { ok: false, issues: secrets };

  const result = productParametersSchema(productId, product).safeParse(params);
  if (!result.success) {
    return {
      ok: false,
      issues: toValidationIssues(result.error, 'spec.params'),
    };
  }
  return { ok: true, params: result.data as Record<string, unknown> };
}

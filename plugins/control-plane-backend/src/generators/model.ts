import {
  GeneratedFile,
  ProductSpec,
  TerraformProvider,
} from '@idp-multicloud/plugin-control-plane-common';

/**
 * One resource as every generator sees it: its desired spec with the product's defaults
 * filled in, and its dependencies among the resources generated.
 */
export interface GenerationUnit {
  /** `resource:<namespace>/<name>`. */
  ref: string;
  name: string;
  namespace: string;
  /** The name of its service, file or block: unique among the units generated. */
  key: string;
  product: string;
  productSpec: ProductSpec;
  tier: string;
  cell: string;
  owner: string;
  component?: string;
  /** The parameters with the product's defaults filled in. */
  params: Record<string, unknown>;
  /** Keys of the units it depends on (each one generated too). */
  dependsOn: string[];
  /** The provider its placement is pinned to, if any. */
  provider?: string;
}

/** What a generator is given: the units, dependencies first. */
export interface GenerationInput {
  units: GenerationUnit[];
  /** Terraform: every resource for this provider, instead of each one's pinned provider. */
  provider?: TerraformProvider;
}

/** What a generator answers: its files, and what it left out or assumed. */
export interface GenerationOutput {
  files: GeneratedFile[];
  notes: string[];
}

/** A generator: a pure function from the units to files. */
export type Generator = (input: GenerationInput) => GenerationOutput;

/**
 * `checkout-db` → `checkout_db`: an identifier (Terraform, KCL, environment variables) of a
 * name, which may start with a digit where an identifier may not.
 */
export function identifierOf(name: string): string {
  const id = name.replace(/[^A-Za-z0-9_]/g, '_');
  return /^[0-9]/.test(id) ? `r_${id}` : id;
}

/** `checkout-db` → `CHECKOUT_DB`: the prefix of the environment variables of a unit. */
export function envName(...parts: string[]): string {
  return identifierOf(
    parts
      .join('_')
      .replace(/[^A-Za-z0-9]+/g, '_')
      .replace(/^_+|_+$/g, ''),
  ).toUpperCase();
}

/** A parameter of a unit, typed by the caller's expectation. */
export function param<T>(unit: GenerationUnit, name: string, fallback: T): T {
  const value = Object.hasOwn(unit.params, name)
    ? unit.params[name]
    : undefined;
  return value === undefined ? fallback : (value as T);
}

/** The CPU and memory of a unit's size class, from its product's sizes. */
export function sizeOf(unit: GenerationUnit): {
  cpu: number;
  memoryGi: number;
} {
  const size = param(unit, 'size', 'medium');
  const sizes = unit.productSpec.sizes;
  return Object.hasOwn(sizes, size) ? sizes[size] : { cpu: 1, memoryGi: 2 };
}

/** A webapp's image reference: its repository and tag. */
export const imageOf = (unit: GenerationUnit) =>
  `${param(unit, 'image', '')}:${param(unit, 'version', 'latest')}`;

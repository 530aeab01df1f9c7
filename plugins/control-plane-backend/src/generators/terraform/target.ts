import { isSecretReference } from '@idp-multicloud/plugin-control-plane-common';
import { envName, GenerationUnit, identifierOf, param } from '../model';
import { block, HclBlock, HclBody, HclValue, ref } from './hcl';

/** A Terraform input variable the generated files declare. */
export interface TerraformVariable {
  name: string;
  type: string;
  description: string;
  sensitive?: boolean;
  default?: HclValue;
}

/**
 * What one provider's writer is handed for a unit: the unit, and a place to declare the
 * variables its blocks read (each declared once, whoever asks first).
 */
export interface UnitContext {
  unit: GenerationUnit;
  /** Declares `name` and answers `var.<name>`. */
  variable(variable: TerraformVariable): ReturnType<typeof ref>;
  /** The units it depends on. */
  dependencies: GenerationUnit[];
  /** Says what was written otherwise than asked (in the answer's notes). */
  note(text: string): void;
}

/** How one provider writes each product, and what the provider itself needs. */
export interface TerraformTarget {
  /** `registry.terraform.io/<source>`, and the version constraint. */
  source: string;
  version: string;
  /** The local name of the provider in `required_providers` (`aws`, `google`, ...). */
  localName: string;
  /** The provider block's body. */
  configure(ctx: Pick<UnitContext, 'variable'>): HclBody;
  /** The blocks of a unit, by product; a product without a writer is left out. */
  products: Map<string, (ctx: UnitContext) => HclBlock[]>;
  /** How a consumer reaches a unit: expressions by variable suffix (`HOST`, `PORT`). */
  connection(unit: GenerationUnit): Record<string, HclValue>;
}

/** Products whose consumers authenticate with the unit's password. */
const withPassword = new Set(['mysql', 'postgres', 'redis']);

/** `checkout-db` → `checkout_db`: a Terraform identifier. */
export const labelOf = (unit: GenerationUnit) => identifierOf(unit.key);

/** The sensitive variable holding a unit's password. */
export function passwordVariable(ctx: UnitContext) {
  return ctx.variable({
    name: `${labelOf(ctx.unit)}_password`,
    type: 'string',
    description: `password of ${
      ctx.unit.ref
    } (set it in a .tfvars file kept out of Git, or TF_VAR_${labelOf(
      ctx.unit,
    )}_password)`,
    sensitive: true,
  });
}

/**
 * A webapp's environment as a map: values as written, each secret reference a sensitive
 * variable, then each dependency's connection settings (its password the same variable the
 * dependency is created with).
 */
export function webappEnvironment(
  ctx: UnitContext,
  target: Pick<TerraformTarget, 'connection'>,
): Record<string, HclValue> {
  const out: Record<string, HclValue> = {
    PORT: String(param(ctx.unit, 'port', 8080)),
  };
  for (const [name, value] of Object.entries(
    param<Record<string, unknown>>(ctx.unit, 'env', {}),
  )) {
    out[name] = isSecretReference(value)
      ? ctx.variable({
          name: identifierOf(
            `${value.secretRef.name}_${value.secretRef.key}`,
          ).toLowerCase(),
          type: 'string',
          description: `secret ${value.secretRef.name}, key ${value.secretRef.key}`,
          sensitive: true,
        })
      : String(value);
  }
  for (const dep of ctx.dependencies) {
    for (const [suffix, expression] of Object.entries(target.connection(dep))) {
      out[envName(dep.key, suffix)] = expression;
    }
    if (withPassword.has(dep.product)) {
      out[envName(dep.key, 'PASSWORD')] = passwordVariable({
        ...ctx,
        unit: dep,
      });
    }
  }
  return out;
}

/** The size class of a unit, by name. */
export const sizeClass = (unit: GenerationUnit) =>
  param<string>(unit, 'size', 'medium');

/** A value from a table by size class, the medium one when the class is unknown. */
export function bySize<T>(unit: GenerationUnit, table: Record<string, T>): T {
  const size = sizeClass(unit);
  return Object.hasOwn(table, size) ? table[size] : table.medium;
}

/** `variable "x" { ... }` blocks. */
export function variableBlocks(variables: TerraformVariable[]): HclBlock[] {
  return variables.map(v =>
    block(
      'variable',
      [
        ['type', ref(v.type)],
        ['description', v.description],
        ['sensitive', v.sensitive ? true : undefined],
        ['default', v.default],
      ],
      [v.name],
    ),
  );
}

/** The writer of one `resource` block of `type` for a unit, from its body. */
export function resourceOf(
  type: string,
  body: (ctx: UnitContext, unit: GenerationUnit) => HclBody,
): (ctx: UnitContext) => HclBlock[] {
  return ctx => [
    block('resource', body(ctx, ctx.unit), [type, labelOf(ctx.unit)]),
  ];
}

/** A string variable (unless `extra` says otherwise) the writers share, declared on first use. */
export const input =
  (name: string, description: string, extra: Partial<TerraformVariable> = {}) =>
  (ctx: Pick<UnitContext, 'variable'>) =>
    ctx.variable({ name, type: 'string', description, ...extra });

/**
 * A webapp's environment: a `locals` map (see {@link webappEnvironment}) and the `dynamic
 * "env"` block that hands each entry to its container.
 */
export function environmentBlocks(
  ctx: UnitContext,
  target: Pick<TerraformTarget, 'connection'>,
): { locals: HclBlock; env: HclBlock } {
  const local = `${labelOf(ctx.unit)}_environment`;
  return {
    locals: block('locals', [[local, webappEnvironment(ctx, target)]]),
    env: block(
      'dynamic',
      [
        ['for_each', ref(`local.${local}`)],
        block('content', [
          ['name', ref('env.key')],
          ['value', ref('env.value')],
        ]),
      ],
      ['env'],
    ),
  };
}

/**
 * The provider's name of the unit's engine version (`offered`, by engine version); the
 * `closest` one, with a note, when the provider does not offer the version asked for.
 */
export function offeredVersion(
  ctx: UnitContext,
  offered: Record<string, string>,
  closest: string,
): string {
  const asked = String(param(ctx.unit, 'engineVersion', ''));
  if (Object.hasOwn(offered, asked)) return offered[asked];
  ctx.note(
    `${ctx.unit.product} ${asked} is not offered; written as ${closest}, the closest`,
  );
  return closest;
}

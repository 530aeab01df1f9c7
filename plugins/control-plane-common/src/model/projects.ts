import { z } from 'zod';
import { ownValue } from './lookup';
import { nameSchema } from './names';
import { ProductSpec } from './products';
import { TierId, tierIdSchema } from './tiers';
import { ValidationIssue } from './validation';

/*
 * Per-project product definitions: `projects/<project>/products/<id>.yaml`, each `extends` a
 * product and overrides parts of it for one project (a project is a namespace). The effective
 * definition a project sees is its chain of definitions applied over the global one.
 *
 * Merge rules (docs/service-registry.md says the same, with examples):
 *
 * - Maps merge deeply: `parameters.<name>` merges into that parameter's JSON Schema, attribute
 *   by attribute; `properties` of an object parameter merge the same way, one level down.
 * - Lists replace the parent's list (`tiers`, `versions`, `requires`, a parameter's `enum` or
 *   `required`), unless marked `{ $append: [...] }`, which adds to the parent's list.
 * - Scalars replace (`title`, `description`, a parameter's `default`, `minimum`, ...).
 * - A project narrows, never widens: every tier, version, enum value or dependency must be one
 *   the parent allows; a minimum may only rise and a maximum only fall; `required` may only
 *   grow; a parameter the parent does not have cannot be added; a `pattern` may be added
 *   where the parent has none, never changed; `type` cannot change; a default must be a value
 *   the merged parameter accepts. Anything else is refused, naming the field.
 * - `extends` names a definition of the same project when one with that id exists (other
 *   than the definition itself), else a global product: `payments/mysql` extending `mysql` is
 *   an override of the global mysql; `payments/mysql-ledger` extending `mysql` builds on
 *   `payments/mysql`. A cycle of `extends` is refused, naming it.
 */

const APPEND = '$append';

/**
 * A list in a project definition: replaces the parent's list, or `{ $append: [...] }` adds to it.
 * @public
 */
export type ListOverride<T> = T[] | { $append: T[] };

const listOverride = <T extends z.ZodType>(item: T) =>
  z.union([
    z.array(item),
    z.object({ [APPEND]: z.array(item).min(1) }).strict(),
  ]);

/**
 * What a project definition may say of one parameter: a fragment of JSON Schema merged into
 * the parameter's schema.
 * @public
 */
export interface ParameterOverride {
  title?: string;
  description?: string;
  default?: unknown;
  enum?: ListOverride<unknown>;
  const?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
  required?: ListOverride<string>;
  properties?: Record<string, ParameterOverride>;
  items?: ParameterOverride;
}

/**
 * The schema of {@link ParameterOverride}.
 * @public
 */
export const parameterOverrideSchema: z.ZodType<ParameterOverride> = z.lazy(
  () =>
    z
      .object({
        title: z.string().optional(),
        description: z.string().optional(),
        default: z.unknown().optional(),
        enum: listOverride(z.unknown()).optional(),
        const: z.unknown().optional(),
        minimum: z.number().optional(),
        maximum: z.number().optional(),
        exclusiveMinimum: z.number().optional(),
        exclusiveMaximum: z.number().optional(),
        minLength: z.number().int().nonnegative().optional(),
        maxLength: z.number().int().nonnegative().optional(),
        minItems: z.number().int().nonnegative().optional(),
        maxItems: z.number().int().nonnegative().optional(),
        pattern: z.string().optional(),
        required: listOverride(z.string()).optional(),
        properties: z.record(z.string(), parameterOverrideSchema).optional(),
        items: parameterOverrideSchema.optional(),
      })
      .strict(),
);

/**
 * A project's definition of a product (`projects/<project>/products/<id>.yaml`, kind
 * `ProjectProduct`): what it `extends` and what it overrides for the project.
 * @public
 */
export const projectProductSpecSchema = z
  .object({
    extends: nameSchema.describe(
      'the definition this one builds on: one of the same project with that id, else the global product',
    ),
    publish: z
      .boolean()
      .default(false)
      .describe(
        "whether resources of other projects may depend on this project's resources of this product",
      ),
    title: z.string().min(1).optional(),
    description: z.string().optional(),
    tiers: listOverride(tierIdSchema)
      .optional()
      .describe('the tiers the project may use: a subset of the parent’s'),
    versions: listOverride(z.string().min(1))
      .optional()
      .describe(
        "the allowed values of the product's versionParameter: a subset of the parent's",
      ),
    requires: listOverride(nameSchema)
      .optional()
      .describe(
        "products a resource of this definition may depend on (the product's dependsOn): a subset of the parent's, each defined for the project",
      ),
    parameters: z
      .record(z.string(), parameterOverrideSchema)
      .optional()
      .describe("overrides of parameters' schemas: defaults, allowed values"),
  })
  .strict();

/**
 * A project definition's spec.
 * @public
 */
export type ProjectProductSpec = z.output<typeof projectProductSpecSchema>;

/**
 * Where a field of an effective definition came from.
 * @public
 */
export type DefinitionOrigin =
  | {
      from: 'global';
      /** Built in, registered by a module, or declared in `products/<id>.yaml`. */
      source: 'builtin' | 'module' | 'state-repo';
      product: string;
      path?: string;
    }
  | { from: 'project'; project: string; definition: string; path: string };

/**
 * A global product, as the resolution of a project definition sees it.
 * @public
 */
export interface GlobalDefinition {
  spec: ProductSpec;
  source: 'builtin' | 'module' | 'state-repo';
}

/**
 * The definition of a product a project sees: the global one with the project's definitions
 * applied, and where each field set by a project came from.
 * @public
 */
export interface EffectiveDefinition {
  id: string;
  project: string;
  spec: ProductSpec;
  /** Whether other projects may depend on this project's resources of it. */
  publish: boolean;
  /** The chain, the global product first, this project's definition of `id` last. */
  chain: DefinitionOrigin[];
  /** Fields a project set (dotted paths, e.g. `parameters.size.default`), and by whom. */
  overridden: ReadonlyMap<string, DefinitionOrigin>;
}

/** A shallow copy-on-write of JSON values. */
type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json =>
  !!v && typeof v === 'object' && !Array.isArray(v);

const sameValue = (a: unknown, b: unknown) =>
  JSON.stringify(a) === JSON.stringify(b);

/**
 * The list a list override makes of `parent`.
 * @public
 */
export function applyListOverride<T>(
  parent: readonly T[] | undefined,
  override: ListOverride<T>,
): T[] {
  if (Array.isArray(override)) return [...override];
  const out = [...(parent ?? [])];
  for (const item of override.$append) {
    if (!out.some(o => sameValue(o, item))) out.push(item);
  }
  return out;
}

const describe = (v: unknown) => JSON.stringify(v);

/** Whether `value` is one `schema` (a JSON Schema fragment) accepts. */
function accepts(schema: Json, value: unknown): boolean {
  try {
    return z
      .fromJSONSchema(schema as z.core.JSONSchema.JSONSchema)
      .safeParse(value).success;
  } catch {
    return false;
  }
}

const lowerBounds = [
  'minimum',
  'exclusiveMinimum',
  'minLength',
  'minItems',
] as const;
const upperBounds = [
  'maximum',
  'exclusiveMaximum',
  'maxLength',
  'maxItems',
] as const;

/**
 * Merges one parameter override into the parent's schema of the parameter, refusing what
 * widens it. `path` is the field's path in the definition's spec, `field` in the effective one.
 */
function mergeParameter(
  parent: Json,
  override: ParameterOverride,
  path: string,
  field: string,
  set: (field: string) => void,
  issues: ValidationIssue[],
): Json {
  const merged: Json = { ...parent };
  const refuse = (key: string, message: string) =>
    issues.push({ path: `${path}.${key}`, message });
  for (const [key, value] of Object.entries(override)) {
    if (value === undefined) continue;
    switch (key) {
      case 'title':
      case 'description':
      case 'default':
        merged[key] = value;
        set(`${field}.${key}`);
        break;
      case 'enum': {
        const list = applyListOverride(
          parent.enum as unknown[] | undefined,
          value as ListOverride<unknown>,
        );
        const widening = list.filter(v => !accepts(parent, v));
        if (widening.length > 0) {
          refuse(
            key,
            `widens what is allowed: ${widening.map(describe).join(', ')} ${
              widening.length === 1 ? 'is' : 'are'
            } not allowed by the parent definition${
              Array.isArray(parent.enum)
                ? ` (it allows ${(parent.enum as unknown[])
                    .map(describe)
                    .join(', ')})`
                : ''
            }; a project can narrow, not widen`,
          );
          break;
        }
        merged.enum = list;
        set(`${field}.enum`);
        break;
      }
      case 'const':
        if (!accepts(parent, value)) {
          refuse(
            key,
            `widens what is allowed: ${describe(
              value,
            )} is not allowed by the parent definition`,
          );
          break;
        }
        merged.const = value;
        set(`${field}.const`);
        break;
      case 'minimum':
      case 'exclusiveMinimum':
      case 'minLength':
      case 'minItems': {
        const floor = lowerBounds
          .map(b => parent[b])
          .filter((b): b is number => typeof b === 'number');
        const below = floor.find(b => (value as number) < b);
        if (below !== undefined) {
          refuse(
            key,
            `widens what is allowed: ${value} is below the parent definition's ${below}; a project can raise a minimum, not lower it`,
          );
          break;
        }
        merged[key] = value;
        set(`${field}.${key}`);
        break;
      }
      case 'maximum':
      case 'exclusiveMaximum':
      case 'maxLength':
      case 'maxItems': {
        const ceiling = upperBounds
          .map(b => parent[b])
          .filter((b): b is number => typeof b === 'number');
        const above = ceiling.find(b => (value as number) > b);
        if (above !== undefined) {
          refuse(
            key,
            `widens what is allowed: ${value} is above the parent definition's ${above}; a project can lower a maximum, not raise it`,
          );
          break;
        }
        merged[key] = value;
        set(`${field}.${key}`);
        break;
      }
      case 'pattern':
        if (parent.pattern !== undefined && parent.pattern !== value) {
          refuse(
            key,
            `cannot replace the parent definition's pattern ${describe(
              parent.pattern,
            )} (a new pattern could allow what it refuses); add a pattern only where there is none`,
          );
          break;
        }
        merged.pattern = value;
        set(`${field}.pattern`);
        break;
      case 'required': {
        const list = applyListOverride(
          parent.required as string[] | undefined,
          value as ListOverride<string>,
        );
        const dropped = (
          (parent.required as string[] | undefined) ?? []
        ).filter(r => !list.includes(r));
        if (dropped.length > 0) {
          refuse(
            key,
            `widens what is allowed: drops ${dropped.join(
              ', ',
            )}, which the parent definition requires`,
          );
          break;
        }
        const unknown = list.filter(
          r =>
            !isObject(parent.properties) ||
            !Object.hasOwn(parent.properties, r),
        );
        if (unknown.length > 0) {
          refuse(key, `no parameter ${unknown.join(', ')}`);
          break;
        }
        merged.required = list;
        set(`${field}.required`);
        break;
      }
      case 'properties': {
        if (!isObject(parent.properties)) {
          refuse(key, 'the parent definition declares no properties here');
          break;
        }
        const properties: Json = { ...parent.properties };
        for (const [name, child] of Object.entries(
          value as Record<string, ParameterOverride>,
        )) {
          const before = ownValue(parent.properties, name);
          if (!isObject(before)) {
            issues.push({
              path: `${path}.properties.${name}`,
              message:
                'no such parameter in the parent definition; a project cannot add parameters',
            });
            continue;
          }
          properties[name] = mergeParameter(
            before,
            child,
            `${path}.properties.${name}`,
            `${field}.${name}`,
            set,
            issues,
          );
          // The object's own default (what a resource leaving it out gets) follows its
          // properties' new defaults.
          if (child.default !== undefined && isObject(merged.default)) {
            merged.default = { ...merged.default };
            Object.defineProperty(merged.default, name, {
              value: child.default,
              enumerable: true,
              writable: true,
              configurable: true,
            });
          }
        }
        merged.properties = properties;
        break;
      }
      case 'items':
        if (!isObject(parent.items)) {
          refuse(key, 'the parent definition declares no items here');
          break;
        }
        merged.items = mergeParameter(
          parent.items,
          value as ParameterOverride,
          `${path}.items`,
          `${field}.items`,
          set,
          issues,
        );
        break;
      default:
        refuse(key, 'not an attribute a project may override');
    }
  }
  if (merged.default !== undefined && !accepts(merged, merged.default)) {
    issues.push({
      path: `${path}.default`,
      message: `the default ${describe(
        merged.default,
      )} is not a value this parameter accepts once overridden; set an allowed default`,
    });
  }
  return merged;
}

/**
 * Applies one project definition over its parent (the global product, or the definition it
 * extends), following the merge rules above. `set` learns each effective field it sets.
 * Returns the effective spec and what it refuses, paths under `spec.`.
 * @public
 */
export function applyProjectDefinition(
  parent: ProductSpec,
  override: ProjectProductSpec,
  set: (field: string) => void = () => {},
  baseOf: (id: string) => string | undefined = () => undefined,
): { spec: ProductSpec; issues: ValidationIssue[] } {
  const issues: ValidationIssue[] = [];
  const spec: ProductSpec = { ...parent };
  if (override.title !== undefined) {
    spec.title = override.title;
    set('title');
  }
  if (override.description !== undefined) {
    spec.description = override.description;
    set('description');
  }
  if (override.tiers) {
    const tiers = applyListOverride<TierId>(parent.tiers, override.tiers);
    const widening = tiers.filter(t => !parent.tiers.includes(t));
    if (widening.length > 0) {
      issues.push({
        path: 'spec.tiers',
        message: `widens what is allowed: tier ${widening.join(
          ', ',
        )} is not offered by the parent definition (it offers ${parent.tiers.join(
          ', ',
        )}); a project can narrow, not widen`,
      });
    } else if (tiers.length === 0) {
      issues.push({
        path: 'spec.tiers',
        message: 'must keep at least one tier',
      });
    } else {
      spec.tiers = tiers;
      set('tiers');
    }
  }
  if (override.requires) {
    const requires = applyListOverride(parent.dependsOn, override.requires);
    // A project's own variant (mysql-ledger extending mysql) counts as the product it builds on.
    const widening = requires.filter(
      p =>
        !parent.dependsOn.includes(p) &&
        !parent.dependsOn.includes(baseOf(p) ?? p),
    );
    if (widening.length > 0) {
      issues.push({
        path: 'spec.requires',
        message: `widens what is allowed: ${widening.join(
          ', ',
        )} is not a dependency the parent definition allows (it allows ${
          parent.dependsOn.join(', ') || 'none'
        }); a project can narrow, not widen`,
      });
    } else {
      spec.dependsOn = requires;
      set('dependsOn');
    }
  }

  const parameters: Record<string, ParameterOverride> = {
    ...(override.parameters ?? {}),
  };
  if (override.versions) {
    const versionParameter = parent.versionParameter;
    if (!versionParameter) {
      issues.push({
        path: 'spec.versions',
        message:
          'the product has no version parameter (versionParameter); override its parameters instead',
      });
    } else if (Object.hasOwn(parameters, versionParameter)) {
      const own = parameters[versionParameter];
      if (own.enum !== undefined) {
        issues.push({
          path: 'spec.versions',
          message: `says the same as parameters.${versionParameter}.enum; keep one of them`,
        });
      } else {
        parameters[versionParameter] = { ...own, enum: override.versions };
      }
    } else {
      parameters[versionParameter] = { enum: override.versions };
    }
  }
  const names = Object.keys(parameters);
  if (names.length > 0) {
    const properties = isObject(parent.parameters.properties)
      ? parent.parameters.properties
      : {};
    const merged: Json = { ...properties };
    for (const name of names) {
      const path =
        override.versions &&
        name === parent.versionParameter &&
        !override.parameters?.[name]?.enum
          ? 'spec.versions'
          : `spec.parameters.${name}`;
      const before = ownValue(properties, name);
      if (!isObject(before)) {
        issues.push({
          path: `spec.parameters.${name}`,
          message: `no parameter ${name} in the parent definition; a project cannot add parameters`,
        });
        continue;
      }
      const nested: ValidationIssue[] = [];
      merged[name] = mergeParameter(
        before,
        parameters[name],
        `spec.parameters.${name}`,
        `parameters.${name}`,
        set,
        nested,
      );
      issues.push(
        ...nested.map(i =>
          path === 'spec.versions' &&
          (i.path.endsWith('.enum') ||
            (i.path.endsWith('.default') &&
              override.parameters?.[name]?.default === undefined))
            ? { ...i, path }
            : i,
        ),
      );
    }
    spec.parameters = { ...parent.parameters, properties: merged };
  }
  return { spec, issues };
}

/**
 * A project's definition, as {@link resolveProjectDefinition} reads it.
 * @public
 */
export interface ProjectDefinitionSource {
  spec: ProjectProductSpec;
  /** Its file in the state repository. */
  path: string;
}

/**
 * The path of a project's definition of a product in the state repository.
 * @public
 */
export function projectProductPath(project: string, id: string): string {
  return `projects/${project}/products/${id}.yaml`;
}

/**
 * Resolves the effective definition of product `id` in `project`: the project's definition
 * of `id` (if any) and those it extends, applied over the global product they start from.
 * Undefined when neither the project nor the global registry defines `id`. Issues name the
 * definition at fault (`definition`) and the field, paths under `spec.`.
 * @public
 */
export function resolveProjectDefinition(options: {
  project: string;
  id: string;
  definition(id: string): ProjectDefinitionSource | undefined;
  global(id: string): GlobalDefinition | undefined;
  /** The global product a project's own definition `id` builds on, for `requires`. */
  baseOf?(id: string): string | undefined;
}):
  | { ok: true; definition: EffectiveDefinition }
  | { ok: false; definition: string; issues: ValidationIssue[] }
  | undefined {
  const { project, id } = options;
  // Walk the chain outward: id, what it extends, ... until a global product.
  const chain: { id: string; source: ProjectDefinitionSource }[] = [];
  let at = id;
  let base: { id: string; global: GlobalDefinition } | undefined;
  for (;;) {
    const own = options.definition(at);
    const current = at;
    const seen = chain.findIndex(c => c.id === current);
    if (own && seen >= 0) {
      const ids = [...chain.slice(seen).map(c => c.id), at];
      return {
        ok: false,
        // The definition asked for when it is on the cycle, else where the cycle starts.
        definition: chain[seen].id,
        issues: [
          {
            path: 'spec.extends',
            message: `extends cycle in project ${project}: ${ids.join(' → ')}`,
          },
        ],
      };
    }
    if (!own) {
      const global = options.global(at);
      if (!global) {
        if (chain.length === 0) return undefined;
        return {
          ok: false,
          definition: chain[chain.length - 1].id,
          issues: [
            {
              path: 'spec.extends',
              message: `no product ${at}: neither project ${project} nor the global registry defines it`,
            },
          ],
        };
      }
      base = { id: at, global };
      break;
    }
    chain.push({ id: at, source: own });
    // A definition extending its own id overrides the global product of that id.
    if (own.spec.extends === at) {
      const global = options.global(at);
      if (!global) {
        return {
          ok: false,
          definition: at,
          issues: [
            {
              path: 'spec.extends',
              message: `no global product ${at} to override`,
            },
          ],
        };
      }
      base = { id: at, global };
      break;
    }
    at = own.spec.extends;
  }

  const globalOrigin: DefinitionOrigin = {
    from: 'global',
    source: base.global.source,
    product: base.id,
    ...(base.global.source === 'state-repo'
      ? { path: `products/${base.id}.yaml` }
      : {}),
  };
  let spec = base.global.spec;
  const overridden = new Map<string, DefinitionOrigin>();
  const origins: DefinitionOrigin[] = [globalOrigin];
  for (const layer of [...chain].reverse()) {
    const origin: DefinitionOrigin = {
      from: 'project',
      project,
      definition: layer.id,
      path: layer.source.path,
    };
    const applied = applyProjectDefinition(
      spec,
      layer.source.spec,
      field => overridden.set(field, origin),
      options.baseOf,
    );
    if (applied.issues.length > 0) {
      return { ok: false, definition: layer.id, issues: applied.issues };
    }
    spec = applied.spec;
    origins.push(origin);
  }
  return {
    ok: true,
    definition: {
      id,
      project,
      spec,
      publish: chain.length > 0 ? chain[0].source.spec.publish : false,
      chain: origins,
      overridden,
    },
  };
}

/** The attributes of a parameter's schema that {@link definitionFields} lists. */
const listedAttributes = [
  'default',
  'enum',
  'const',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'minLength',
  'maxLength',
  'pattern',
  'required',
] as const;

/**
 * One field of an effective definition, its value and where it came from.
 * @public
 */
export interface DefinitionField {
  path: string;
  value: unknown;
  origin: DefinitionOrigin;
}

/**
 * The fields of an effective definition a person decides by (title, tiers, dependencies,
 * and each parameter's default and allowed values), each with where it came from.
 * @public
 */
export function definitionFields(
  definition: EffectiveDefinition,
): DefinitionField[] {
  const base = definition.chain[0];
  const originOf = (path: string) => definition.overridden.get(path) ?? base;
  const fields: DefinitionField[] = [];
  const add = (path: string, value: unknown) => {
    if (value !== undefined) {
      fields.push({ path, value, origin: originOf(path) });
    }
  };
  add('title', definition.spec.title);
  add('description', definition.spec.description);
  add('tiers', definition.spec.tiers);
  add('dependsOn', definition.spec.dependsOn);
  const walk = (schema: Json, at: string) => {
    for (const attribute of listedAttributes) {
      add(`${at}.${attribute}`, ownValue(schema, attribute));
    }
    if (isObject(schema.properties)) {
      for (const [name, child] of Object.entries(schema.properties)) {
        if (isObject(child)) walk(child, `${at}.${name}`);
      }
    }
    if (isObject(schema.items)) walk(schema.items, `${at}.items`);
  };
  const properties = definition.spec.parameters.properties;
  if (isObject(properties)) {
    for (const [name, schema] of Object.entries(properties)) {
      if (isObject(schema)) walk(schema, `parameters.${name}`);
    }
  }
  return fields;
}

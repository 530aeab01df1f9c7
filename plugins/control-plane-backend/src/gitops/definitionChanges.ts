import { ProductSpec } from '@idp-multicloud/plugin-control-plane-common';
import { isDeepStrictEqual } from 'node:util';

/**
 * The kinds of difference between two versions of a product definition. Each is breaking or
 * not by its nature (a removed parameter always is; a narrowed range is only for resources
 * outside it, which {@link affectedBy} finds).
 */
export type DefinitionFindingCode =
  | 'parameter.removed'
  | 'parameter.required'
  | 'parameter.type-changed'
  | 'parameter.values-removed'
  | 'parameter.range-narrowed'
  | 'parameter.default-changed'
  | 'version.removed'
  | 'tier.removed'
  | 'operation.removed'
  | 'dependency.removed'
  | 'parameter.added'
  | 'parameter.values-added'
  | 'parameter.range-widened'
  | 'version.added'
  | 'tier.added'
  | 'operation.added';

/** One difference between two versions of a definition, typed: breaking or not, and why. */
export interface DefinitionFinding {
  code: DefinitionFindingCode;
  breaking: boolean;
  /** The parameter's dotted path (`backups.retentionDays`), or the tier, operation, product. */
  subject: string;
  message: string;
  /** Range findings: the JSON Schema keyword that moved (`minimum`, `maxLength`, ...). */
  bound?: string;
  before?: unknown;
  after?: unknown;
}

type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  enum?: unknown[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  maxItems?: number;
  minItems?: number;
  items?: JsonSchema;
};

/** Bounds whose raise (a minimum) or fall (a maximum) narrows what is accepted. */
const lowerBounds = ['minimum', 'minLength', 'minItems'] as const;
const upperBounds = ['maximum', 'maxLength', 'maxItems'] as const;

const show = (v: unknown) => JSON.stringify(v);

function compareSchemas(
  before: JsonSchema,
  after: JsonSchema,
  prefix: string,
  versionParameter: string | undefined,
  out: DefinitionFinding[],
) {
  const was = before.properties ?? {};
  const now = after.properties ?? {};
  const wasRequired = new Set(before.required ?? []);
  for (const name of Object.keys(was)) {
    const path = `${prefix}${name}`;
    if (!Object.hasOwn(now, name)) {
      out.push({
        code: 'parameter.removed',
        breaking: true,
        subject: path,
        message: `parameter ${path} is removed: resources that set it are refused, and what it configured is no longer configurable`,
        before: was[name].default,
      });
    }
  }
  for (const [name, schema] of Object.entries(now)) {
    const path = `${prefix}${name}`;
    const old = Object.hasOwn(was, name) ? was[name] : undefined;
    if (!old) {
      const required =
        (after.required ?? []).includes(name) && schema.default === undefined;
      out.push({
        code: required ? 'parameter.required' : 'parameter.added',
        breaking: required,
        subject: path,
        message: required
          ? `parameter ${path} is new and required without a default: every resource must set it`
          : `parameter ${path} is new (optional${
              schema.default !== undefined
                ? `, default ${show(schema.default)}`
                : ''
            })`,
        after: schema.default,
      });
      continue;
    }
    if (
      (after.required ?? []).includes(name) &&
      !wasRequired.has(name) &&
      schema.default === undefined
    ) {
      out.push({
        code: 'parameter.required',
        breaking: true,
        subject: path,
        message: `parameter ${path} becomes required without a default: resources that leave it out are refused`,
      });
    }
    if (
      old.type !== undefined &&
      schema.type !== undefined &&
      !isDeepStrictEqual(old.type, schema.type)
    ) {
      out.push({
        code: 'parameter.type-changed',
        breaking: true,
        subject: path,
        message: `parameter ${path} changes type from ${show(
          old.type,
        )} to ${show(schema.type)}`,
        before: old.type,
        after: schema.type,
      });
      continue;
    }
    if (old.enum && schema.enum) {
      const removed = old.enum.filter(
        v => !schema.enum!.some(w => isDeepStrictEqual(v, w)),
      );
      const added = schema.enum.filter(
        v => !old.enum!.some(w => isDeepStrictEqual(v, w)),
      );
      const isVersion = path === versionParameter;
      if (removed.length > 0) {
        out.push({
          code: isVersion ? 'version.removed' : 'parameter.values-removed',
          breaking: true,
          subject: path,
          message: isVersion
            ? `version${removed.length === 1 ? '' : 's'} ${removed
                .map(String)
                .join(', ')} no longer offered: resources running ${
                removed.length === 1 ? 'it' : 'them'
              } must upgrade`
            : `parameter ${path} no longer accepts ${removed
                .map(show)
                .join(', ')}`,
          before: removed,
        });
      }
      if (added.length > 0) {
        out.push({
          code: isVersion ? 'version.added' : 'parameter.values-added',
          breaking: false,
          subject: path,
          message: isVersion
            ? `version${added.length === 1 ? '' : 's'} ${added
                .map(String)
                .join(', ')} offered`
            : `parameter ${path} also accepts ${added.map(show).join(', ')}`,
          after: added,
        });
      }
    } else if (!old.enum && schema.enum) {
      out.push({
        code: 'parameter.values-removed',
        breaking: true,
        subject: path,
        message: `parameter ${path} is limited to ${schema.enum
          .map(show)
          .join(', ')}`,
        after: schema.enum,
      });
    }
    for (const bound of lowerBounds) {
      const a = old[bound];
      const b = schema[bound];
      if (b !== undefined && (a === undefined || b > a)) {
        out.push({
          code: 'parameter.range-narrowed',
          breaking: true,
          subject: path,
          bound,
          message: `parameter ${path}: ${bound} rises from ${
            a ?? 'none'
          } to ${b}`,
          before: a,
          after: b,
        });
      } else if (a !== undefined && (b === undefined || b < a)) {
        out.push({
          code: 'parameter.range-widened',
          breaking: false,
          subject: path,
          bound,
          message: `parameter ${path}: ${bound} falls from ${a} to ${
            b ?? 'none'
          }`,
          before: a,
          after: b,
        });
      }
    }
    for (const bound of upperBounds) {
      const a = old[bound];
      const b = schema[bound];
      if (b !== undefined && (a === undefined || b < a)) {
        out.push({
          code: 'parameter.range-narrowed',
          breaking: true,
          subject: path,
          bound,
          message: `parameter ${path}: ${bound} falls from ${
            a ?? 'none'
          } to ${b}`,
          before: a,
          after: b,
        });
      } else if (a !== undefined && (b === undefined || b > a)) {
        out.push({
          code: 'parameter.range-widened',
          breaking: false,
          subject: path,
          bound,
          message: `parameter ${path}: ${bound} rises from ${a} to ${
            b ?? 'none'
          }`,
          before: a,
          after: b,
        });
      }
    }
    if (
      old.default !== undefined &&
      !isDeepStrictEqual(old.default, schema.default) &&
      !(old.properties && schema.properties)
    ) {
      out.push({
        code: 'parameter.default-changed',
        breaking: true,
        subject: path,
        message: `parameter ${path}'s default changes from ${show(
          old.default,
        )} to ${show(
          schema.default,
        )}: resources that leave it out change behaviour`,
        before: old.default,
        after: schema.default,
      });
    }
    if (old.properties && schema.properties) {
      compareSchemas(old, schema, `${path}.`, versionParameter, out);
    }
  }
}

function compareLists(
  before: string[],
  after: string[],
  what: 'tier' | 'operation' | 'dependency',
  out: DefinitionFinding[],
) {
  for (const item of before.filter(i => !after.includes(i))) {
    out.push({
      code: `${what}.removed`,
      breaking: true,
      subject: item,
      message: {
        tier: `tier ${item} is no longer offered: resources of that tier must move`,
        operation: `operation ${item} is no longer offered`,
        dependency: `it may no longer depend on a ${item}`,
      }[what],
    });
  }
  if (what === 'dependency') return;
  for (const item of after.filter(i => !before.includes(i))) {
    out.push({
      code: `${what}.added`,
      breaking: false,
      subject: item,
      message: `${what} ${item} is offered`,
    });
  }
}

/**
 * The typed differences between two versions of a product definition: parameters removed,
 * newly required, retyped, with values removed or ranges narrowed, with changed defaults
 * (breaking: a resource that leaves the parameter out changes behaviour), versions of the
 * engine, tiers, operations and dependencies no longer offered; and what is only added.
 */
export function compareDefinitions(
  before: ProductSpec,
  after: ProductSpec,
): DefinitionFinding[] {
  const out: DefinitionFinding[] = [];
  compareSchemas(
    before.parameters as JsonSchema,
    after.parameters as JsonSchema,
    '',
    after.versionParameter ?? before.versionParameter,
    out,
  );
  compareLists(before.tiers, after.tiers, 'tier', out);
  compareLists(before.operations, after.operations, 'operation', out);
  compareLists(before.dependsOn, after.dependsOn, 'dependency', out);
  return out;
}

/** The own property at `key` of an object, never one it inherits. */
const own = (v: unknown, key: string): unknown =>
  v && typeof v === 'object' && Object.hasOwn(v, key)
    ? (v as Record<string, unknown>)[key]
    : undefined;

const valueAt = (params: Record<string, unknown>, path: string) =>
  path.split('.').reduce<unknown>((v, key) => own(v, key), params);

const propertyAt = (schema: JsonSchema | undefined, key: string) =>
  own(schema?.properties, key) as JsonSchema | undefined;

const defaultAt = (schema: JsonSchema, path: string): unknown => {
  let node: JsonSchema | undefined = schema;
  let fallback: unknown;
  for (const key of path.split('.')) {
    fallback = own(fallback, key);
    node = propertyAt(node, key);
    if (node?.default !== undefined) fallback = node.default;
  }
  return fallback;
};

/**
 * Whether a breaking finding affects a resource of the product, from its parameters (as set,
 * else the old default): a removed parameter or operation affects every resource; removed
 * values and narrowed ranges those whose value is out; a changed default those that leave the
 * parameter out; a removed tier those of that tier.
 */
export function affectedBy(
  finding: DefinitionFinding,
  resource: { tier: string; params: Record<string, unknown> },
  before: ProductSpec,
  after: ProductSpec,
): boolean {
  if (!finding.breaking) return false;
  const set = valueAt(resource.params, finding.subject);
  const value =
    set !== undefined
      ? set
      : defaultAt(before.parameters as JsonSchema, finding.subject);
  switch (finding.code) {
    case 'parameter.values-removed':
    case 'version.removed': {
      let node: JsonSchema | undefined = after.parameters as JsonSchema;
      for (const key of finding.subject.split('.')) {
        node = propertyAt(node, key);
      }
      return (
        value !== undefined &&
        !!node?.enum &&
        !node.enum.some(v => isDeepStrictEqual(v, value))
      );
    }
    case 'parameter.range-narrowed': {
      const limit = finding.after;
      if (typeof limit !== 'number') return false;
      let measure: number | undefined;
      if (typeof value === 'number') measure = value;
      else if (typeof value === 'string' || Array.isArray(value)) {
        measure = value.length;
      }
      if (measure === undefined) return false;
      return (lowerBounds as readonly string[]).includes(finding.bound ?? '')
        ? measure < limit
        : measure > limit;
    }
    case 'parameter.default-changed':
      return set === undefined;
    case 'parameter.required':
      return set === undefined;
    case 'parameter.type-changed':
      return set !== undefined;
    case 'tier.removed':
      return resource.tier === finding.subject;
    default:
      return true;
  }
}

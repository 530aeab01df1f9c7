import { tierIds } from '@idp-multicloud/plugin-control-plane-common';
import {
  GenerationInput,
  GenerationOutput,
  GenerationUnit,
  identifierOf,
} from './model';

type JsonSchema = Record<string, unknown>;

const identifier = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `object-bucket` → `ObjectBucket`: a KCL schema name. */
export const schemaName = (product: string) => {
  const name = product
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map(p => p[0].toUpperCase() + p.slice(1))
    .join('');
  return /^[0-9]/.test(name) ? `Product${name}` : name;
};

/** A KCL string literal. */
const str = (text: string) =>
  `"${text
    .replace(/\\/g, '\\\\')
    .replace(/"/g, '\\"')
    .replace(/\n/g, '\\n')
    .replace(/\$\{/g, () => '$${')}"`;

/** A value as a KCL literal. */
function literal(value: unknown, indent: string): string {
  if (typeof value === 'string') return str(value);
  if (typeof value === 'number') return String(value);
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (value === null || value === undefined) return 'None';
  if (Array.isArray(value)) {
    return `[${value.map(v => literal(v, indent)).join(', ')}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return '{}';
  const inner = `${indent}    `;
  return `{\n${entries
    .map(([k, v]) => `${inner}${str(k)}: ${literal(v, inner)}`)
    .join('\n')}\n${indent}}`;
}

/** The KCL type of a JSON Schema. */
function kclType(schema: JsonSchema | undefined): string {
  if (!schema) return 'any';
  const values = schema.enum;
  if (Array.isArray(values) && values.length > 0) {
    return values.map(v => literal(v, '')).join(' | ');
  }
  switch (schema.type) {
    case 'string':
      return 'str';
    case 'integer':
      return 'int';
    case 'number':
      return 'float';
    case 'boolean':
      return 'bool';
    case 'array':
      return `[${kclType(schema.items as JsonSchema | undefined)}]`;
    case 'object':
      return schema.properties
        ? '{str:any}'
        : `{str:${
            typeof schema.additionalProperties === 'object'
              ? kclType(schema.additionalProperties as JsonSchema)
              : 'any'
          }}`;
    default:
      return 'any';
  }
}

/** The schema of a product's parameters, from its JSON Schema. */
function paramsSchema(unit: GenerationUnit): string[] {
  const parameters = unit.productSpec.parameters as JsonSchema;
  const properties = (parameters.properties ?? {}) as Record<
    string,
    JsonSchema
  >;
  const required = new Set(
    Array.isArray(parameters.required) ? (parameters.required as string[]) : [],
  );
  const lines = [
    `schema ${schemaName(unit.product)}Params:`,
    `    """Parameters of product ${unit.product}: ${unit.productSpec.title}."""`,
  ];
  const names = Object.keys(properties).filter(n => identifier.test(n));
  for (const name of names) {
    const property = properties[name];
    if (typeof property.description === 'string') {
      lines.push(`    # ${property.description.replace(/\n/g, ' ')}`);
    }
    lines.push(
      `    ${name}${required.has(name) ? '' : '?'}: ${kclType(property)}`,
    );
  }
  if (names.length === 0) lines.push('    [name: str]: any');
  return lines;
}

const resourceSchema = [
  'schema Resource:',
  '    """A resource of the IDP Multicloud control plane: an instance of a product."""',
  '    name: str',
  '    namespace: str = "default"',
  '    product: str',
  '    owner: str',
  '    component?: str',
  `    tier: ${tierIds.map(t => str(t)).join(' | ')}`,
  '    cell: str',
  '    dependsOn: [str] = []',
  '',
  '    check:',
  '        regex.match(name, r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"), "name must be a DNS label"',
];

/** The config of one resource: an instance of its product's schema. */
function config(unit: GenerationUnit, all: GenerationUnit[]): string[] {
  const name = schemaName(unit.product);
  const lines = [
    `${identifierOf(unit.key)} = ${name} {`,
    `    name = ${str(unit.name)}`,
    `    namespace = ${str(unit.namespace)}`,
    `    product = ${str(unit.product)}`,
    `    owner = ${str(unit.owner)}`,
  ];
  if (unit.component) lines.push(`    component = ${str(unit.component)}`);
  lines.push(`    tier = ${str(unit.tier)}`, `    cell = ${str(unit.cell)}`);
  const deps = unit.dependsOn.map(k => all.find(u => u.key === k)!.ref);
  if (deps.length) lines.push(`    dependsOn = ${literal(deps, '    ')}`);
  lines.push(`    params = ${name}Params {`);
  for (const [key, value] of Object.entries(unit.params)) {
    if (identifier.test(key)) {
      lines.push(`        ${key} = ${literal(value, '        ')}`);
    }
  }
  lines.push('    }', '}');
  return lines;
}

/**
 * KCL: a `Resource` schema, one schema per product (its parameters typed from the product's
 * JSON Schema, a check that the resource is of that product) and one config per resource
 * (`kcl run kcl/main.k`).
 */
export function generateKcl(input: GenerationInput): GenerationOutput {
  const products = new Map<string, GenerationUnit>();
  for (const unit of input.units) {
    if (!products.has(unit.product)) products.set(unit.product, unit);
  }
  const schemas = [...products.values()].flatMap(unit => [
    '',
    ...paramsSchema(unit),
    '',
    `schema ${schemaName(unit.product)}(Resource):`,
    `    params: ${schemaName(unit.product)}Params`,
    '',
    '    check:',
    `        product == ${str(unit.product)}, "a ${schemaName(
      unit.product,
    )} is a resource of product ${unit.product}"`,
  ]);
  const main = [
    '# Generated by the IDP Multicloud control plane: schemas, then one config per resource.',
    'import regex',
    '',
    ...resourceSchema,
    ...schemas,
    '',
    ...input.units.flatMap(u => [...config(u, input.units), '']),
  ];
  return {
    files: [
      {
        path: 'kcl/kcl.mod',
        content:
          '[package]\nname = "infrastructure"\nedition = "v0.10.0"\nversion = "0.1.0"\n',
      },
      { path: 'kcl/main.k', content: `${main.join('\n').trimEnd()}\n` },
    ],
    notes: [],
  };
}

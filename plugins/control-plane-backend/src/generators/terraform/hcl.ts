/**
 * A small writer of HashiCorp Configuration Language: attributes, nested blocks and
 * expressions, escaped so that a value from a resource's parameters is always a string
 * literal (never an interpolation).
 */

/** An expression written as is: a reference such as `var.region`. */
export class HclExpression {
  constructor(readonly code: string) {}
}

/** `var.<name>`, `aws_db_instance.x.id`, ...: a reference, not a string. */
export const ref = (code: string) => new HclExpression(code);

/** A value of an attribute. */
export type HclValue =
  | string
  | number
  | boolean
  | HclExpression
  | HclValue[]
  | { [key: string]: HclValue };

/** A block: `type "label" ... { body }`. */
export interface HclBlock {
  type: string;
  labels?: string[];
  body: HclBody;
}

/**
 * The body of a block: attributes (a plain value) and nested blocks (a {@link block}),
 * in the order written. An `undefined` attribute is left out.
 */
export type HclBody = Array<[string, HclValue | undefined] | HclBlock>;

/** A nested block. */
export const block = (
  type: string,
  entries: HclBody,
  labels: string[] = [],
): HclBlock => ({ type, labels, body: entries });

function quote(text: string): string {
  return `"${text
    .replace(/\\/g, '\\\\')
    .replace(/"/g, '\\"')
    .replace(/\n/g, '\\n')
    .replace(/\r/g, '\\r')
    .replace(/\t/g, '\\t')
    .replace(/\$\{/g, () => '$${')
    .replace(/%\{/g, '%%{')}"`;
}

const identifier = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** A value as HCL, e.g. inside an expression such as `jsonencode(...)`. */
export function hclValue(v: HclValue, indent = ''): string {
  return value(v, indent);
}

function value(v: HclValue, indent: string): string {
  if (v instanceof HclExpression) return v.code;
  if (typeof v === 'string') return quote(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) {
    return `[${v.map(item => value(item, indent)).join(', ')}]`;
  }
  const inner = `${indent}  `;
  const entries = Object.entries(v);
  if (entries.length === 0) return '{}';
  return `{\n${entries
    .map(
      ([k, item]) =>
        `${inner}${identifier.test(k) ? k : quote(k)} = ${value(item, inner)}`,
    )
    .join('\n')}\n${indent}}`;
}

function body(entries: HclBody, indent: string): string[] {
  const lines: string[] = [];
  for (const entry of entries) {
    if (Array.isArray(entry)) {
      const [name, v] = entry;
      if (v !== undefined) lines.push(`${indent}${name} = ${value(v, indent)}`);
    } else {
      lines.push(...blockLines(entry, indent));
    }
  }
  return lines;
}

function blockLines(b: HclBlock, indent: string): string[] {
  const head = [b.type, ...(b.labels ?? []).map(quote)].join(' ');
  return [`${indent}${head} {`, ...body(b.body, `${indent}  `), `${indent}}`];
}

/** Top-level blocks as an HCL file, one blank line between blocks. */
export function writeHcl(blocks: HclBlock[]): string {
  return `${blocks.map(b => blockLines(b, '').join('\n')).join('\n\n')}\n`;
}

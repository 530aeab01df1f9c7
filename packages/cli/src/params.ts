import { Command, InvalidArgumentError, Option } from 'commander';
import { z } from 'zod';

/** A command-line mistake: exit code 2. */
export class UsageError extends Error {
  name = 'UsageError';
}

/** A value from the command line: JSON where it parses (numbers, booleans, objects), else text. */
export function parseValue(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/** Sets `a.b.c` in an object, making the objects on the way. */
function setPath(target: Record<string, any>, path: string, value: unknown) {
  const keys = path.split('.');
  if (keys.some(k => !k))
    throw new UsageError(`'${path}' is not a parameter name`);
  let node = target;
  for (const key of keys.slice(0, -1)) {
    // Own keys only: `__proto__.x` or `constructor.y` name parameters, not the prototype.
    const next = Object.hasOwn(node, key) ? node[key] : undefined;
    if (typeof next === 'object' && next !== null) {
      node = next;
    } else {
      const child = {};
      Object.defineProperty(node, key, {
        value: child,
        enumerable: true,
        writable: true,
        configurable: true,
      });
      node = child;
    }
  }
  Object.defineProperty(node, keys[keys.length - 1], {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

/** `-p key=value` (repeatable, dotted keys for nested parameters) into an object. */
export function collectParam(
  raw: string,
  previous: Record<string, unknown> = {},
) {
  const eq = raw.indexOf('=');
  if (eq <= 0) {
    throw new InvalidArgumentError(`expected key=value, got '${raw}'`);
  }
  const result = { ...previous };
  setPath(result, raw.slice(0, eq), parseValue(raw.slice(eq + 1)));
  return result;
}

/** `key=value` (repeatable) into a map of strings, for labels. */
export function collectLabel(
  raw: string,
  previous: Record<string, string> = {},
) {
  const eq = raw.indexOf('=');
  if (eq <= 0)
    throw new InvalidArgumentError(`expected key=value, got '${raw}'`);
  return { ...previous, [raw.slice(0, eq)]: raw.slice(eq + 1) };
}

/** Repeatable option values. */
export const collect = (value: string, previous: string[] = []) => [
  ...previous,
  value,
];

const kebab = (key: string) =>
  key.replace(/[A-Z]/g, c => `-${c.toLowerCase()}`);

/** What an option needs to know of one zod field. */
function describeField(schema: z.ZodType): {
  kind: 'string' | 'number' | 'boolean' | 'enum' | 'other';
  values?: string[];
  description?: string;
  defaultValue?: unknown;
} {
  let current: any = schema;
  let description: string | undefined = current.description;
  let defaultValue: unknown;
  for (;;) {
    const def = current._zod.def;
    if (def.type === 'default') {
      defaultValue =
        typeof def.defaultValue === 'function'
          ? def.defaultValue()
          : def.defaultValue;
    } else if (def.type !== 'optional' && def.type !== 'nullable') {
      break;
    }
    current = def.innerType;
    description ??= current.description;
  }
  const type = current._zod.def.type;
  if (type === 'enum') {
    return {
      kind: 'enum',
      values: current.options.map(String),
      description,
      defaultValue,
    };
  }
  if (type === 'string' || type === 'number' || type === 'boolean') {
    return { kind: type, description, defaultValue };
  }
  return { kind: 'other', description, defaultValue };
}

/**
 * Adds an option per scalar field of a zod object (`storageGi` → `--storage-gi <n>`), with its
 * description, choices and default in the help, and returns how to read them back. Nested
 * fields stay reachable through `-p key.sub=value`.
 */
export function addSchemaOptions(
  command: Command,
  schema: z.ZodType,
  reserved: string[] = [],
) {
  const shape: Record<string, z.ZodType> = (schema as any)._zod.def.shape ?? {};
  const added: string[] = [];
  for (const [key, field] of Object.entries(shape)) {
    const info = describeField(field);
    const flag = kebab(key);
    if (info.kind === 'other' || reserved.includes(flag)) continue;
    const help = [
      info.description,
      info.values ? `one of ${info.values.join(', ')}` : undefined,
      info.defaultValue !== undefined && typeof info.defaultValue !== 'object'
        ? `(server default: ${info.defaultValue})`
        : undefined,
    ]
      .filter(Boolean)
      .join('; ');
    let option: Option;
    if (info.kind === 'boolean') {
      option = new Option(`--${flag} [bool]`, help).argParser(v => {
        if (v === 'true') return true;
        if (v === 'false') return false;
        throw new InvalidArgumentError(`expected true or false, got '${v}'`);
      });
      option.preset(true);
    } else if (info.kind === 'number') {
      option = new Option(`--${flag} <n>`, help).argParser(v => {
        const n = Number(v);
        if (!Number.isFinite(n))
          throw new InvalidArgumentError(`'${v}' is not a number`);
        return n;
      });
    } else {
      // Not commander's choices: the control plane checks the value and names the field.
      option = new Option(`--${flag} <value>`, help);
    }
    command.addOption(option);
    added.push(key);
  }
  return (opts: Record<string, unknown>) =>
    Object.fromEntries(
      added.filter(key => opts[key] !== undefined).map(key => [key, opts[key]]),
    );
}

/** Everything on standard input, as text. */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

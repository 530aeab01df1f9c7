import { z } from 'zod';
import type { ValidationIssue } from './validation';

/*
 * Secrets are references, never values: a parameter a product marks secret takes a
 * reference to a key of a secret (`{ secretRef: { name, key } }`), and a value that looks
 * like a credential (by its name or by its shape) is refused wherever a resource's
 * parameters hold strings (the webapp's `env`, any map of strings a product takes), with a
 * hint to pass a reference instead. Nothing secret then reaches Git, the database, logs,
 * events or responses: the drivers resolve references where the workload runs.
 */

const dnsSubdomain =
  /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * A key of a secret, e.g. `{ name: 'checkout-db', key: 'password' }`: the secret lives in
 * the namespace the workload runs in (a Kubernetes Secret, or its equivalent).
 * @public
 */
export const secretKeySelectorSchema = z
  .object({
    name: z
      .string()
      .min(1)
      .max(253)
      .regex(dnsSubdomain, 'must be a DNS subdomain, e.g. checkout-db')
      .describe('the secret'),
    key: z
      .string()
      .min(1)
      .max(253)
      .regex(/^[-._a-zA-Z0-9]+$/, 'must be letters, digits, -, _ or .')
      .describe('the key within the secret'),
  })
  .strict();

/**
 * A reference to a secret's value: what a secret parameter, or an environment variable,
 * takes instead of the value itself.
 * @public
 */
export const secretReferenceSchema = z
  .object({ secretRef: secretKeySelectorSchema })
  .strict()
  .meta({
    description:
      'a reference to a key of a secret, never the value: { secretRef: { name, key } }',
  });

/**
 * A reference to a secret's value.
 * @public
 */
export type SecretReference = z.infer<typeof secretReferenceSchema>;

/**
 * Whether a value is a well-formed secret reference.
 * @public
 */
export function isSecretReference(value: unknown): value is SecretReference {
  return secretReferenceSchema.safeParse(value).success;
}

/**
 * The JSON Schema keyword that marks a product parameter secret (`secret: true` on one of
 * the properties of its `parameters`): it takes a {@link SecretReference}, never a value.
 * @public
 */
export const SECRET_PARAMETER_KEYWORD = 'secret';

function ownProperties(
  schema: Record<string, unknown>,
): Record<string, unknown> {
  const properties = Object.hasOwn(schema, 'properties')
    ? schema.properties
    : undefined;
  return properties && typeof properties === 'object'
    ? (properties as Record<string, unknown>)
    : {};
}

/**
 * The parameters a product's parameter schema marks secret.
 * @public
 */
export function secretParameters(schema: Record<string, unknown>): string[] {
  return Object.entries(ownProperties(schema))
    .filter(
      ([, property]) =>
        !!property &&
        typeof property === 'object' &&
        (property as Record<string, unknown>)[SECRET_PARAMETER_KEYWORD] ===
          true,
    )
    .map(([name]) => name);
}

/**
 * A product's parameter schema in which each secret parameter takes a
 * {@link SecretReference} (what its declared type becomes); `schema` itself when it marks
 * none secret.
 * @public
 */
export function withSecretReferences<T extends Record<string, unknown>>(
  schema: T,
): T {
  const secret = secretParameters(schema);
  if (secret.length === 0) return schema;
  const properties = { ...ownProperties(schema) };
  const reference = z.toJSONSchema(secretReferenceSchema);
  for (const name of secret) {
    const { $schema: _schema, ...rest } = reference as Record<string, unknown>;
    Object.defineProperty(properties, name, {
      value: rest,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return { ...schema, properties };
}

/** Names that say "credential": `DB_PASSWORD`, `apiKey`, `GITHUB_TOKEN`, `client_secret`. */
const credentialName =
  /pass(wor)?d|passwd|secret|token|api[-_]?key|private[-_]?key|access[-_]?key|credential/i;

/** Shapes of common credentials, each with what it is. */
const credentialShapes: [RegExp, string][] = [
  [/\b[sr]k_(live|test)_[0-9A-Za-z]{8,}/, 'a Stripe secret key'],
  [
    /\b(gh[pousr]_[0-9A-Za-z]{20,}|github_pat_[0-9A-Za-z_]{20,})/,
    'a GitHub token',
  ],
  [/\b(AKIA|ASIA)[0-9A-Z]{16}\b/, 'an AWS access key'],
  [/\bxox[bpoas]-[0-9A-Za-z-]{10,}/, 'a Slack token'],
  [
    /\beyJ[0-9A-Za-z_-]{5,}\.eyJ[0-9A-Za-z_-]{5,}\.[0-9A-Za-z_-]+/,
    'a JSON Web Token',
  ],
  [/-----BEGIN [A-Z0-9 ]+-----/, 'a PEM block (a key or certificate)'],
];

/**
 * Whether a name says it holds a credential (`DB_PASSWORD`, `API_TOKEN`, `apiKey`, ...).
 * @public
 */
export function isCredentialName(name: string): boolean {
  return credentialName.test(name);
}

/**
 * What credential a value looks like (a Stripe key, a GitHub token, an AWS access key, a
 * Slack token, a JWT, a PEM block), or undefined.
 * @public
 */
export function credentialShapeOf(value: string): string | undefined {
  return credentialShapes.find(([shape]) => shape.test(value))?.[1];
}

const HINT =
  'pass a reference instead, { secretRef: { name, key } } naming a secret that holds it; never the value';

/**
 * Where a resource's parameters hold a secret as a value: each secret parameter (see
 * {@link secretParameters}) that is not a {@link SecretReference}, and each string, at any
 * depth, whose name or shape says credential. The issues name the field (under `prefix`),
 * never the value.
 * @public
 */
export function secretValueIssues(
  parametersSchema: Record<string, unknown>,
  params: Record<string, unknown>,
  prefix: string = 'spec.params',
): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const secret = new Set(secretParameters(parametersSchema));
  const walk = (value: unknown, path: string[], name?: string) => {
    const at = [prefix, ...path].filter(Boolean).join('.');
    if (isSecretReference(value)) return;
    if (path.length === 1 && name !== undefined && secret.has(name)) {
      if (value !== undefined && value !== null) {
        issues.push({
          path: at,
          message: `is a secret parameter: ${HINT}`,
        });
      }
      return;
    }
    if (typeof value === 'string') {
      if (value === '') return;
      const shape = credentialShapeOf(value);
      if (shape) {
        issues.push({ path: at, message: `looks like ${shape}: ${HINT}` });
      } else if (name !== undefined && isCredentialName(name)) {
        issues.push({
          path: at,
          message: `its name says it holds a credential: ${HINT}`,
        });
      }
    } else if (Array.isArray(value)) {
      value.forEach((item, i) => walk(item, [...path, String(i)], name));
    } else if (value && typeof value === 'object') {
      for (const [key, child] of Object.entries(value)) {
        walk(child, [...path, key], key);
      }
    }
  };
  for (const [key, value] of Object.entries(params ?? {})) {
    walk(value, [key], key);
  }
  return issues;
}

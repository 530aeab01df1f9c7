import { isSecretReference } from '@idp-multicloud/plugin-control-plane-common';

/*
 * Secrets are references, never values: a parameter that takes a secret (a secret parameter
 * of its product, or an entry of the webapp's `env`) holds `{ secretRef: { name, key } }`.
 * The claim carries it as Kubernetes spells a reference to a key of a Secret,
 * `{ valueFrom: { secretKeyRef: { name, key } } }` (the Secret in the claim's namespace):
 * the composition hands it to the workload, and no value is ever rendered.
 */

function isRendered(
  value: unknown,
): value is { valueFrom: { secretKeyRef: { name: string; key: string } } } {
  const ref = (value as any)?.valueFrom?.secretKeyRef;
  return (
    !!value &&
    typeof value === 'object' &&
    Object.keys(value).length === 1 &&
    !!ref &&
    typeof ref.name === 'string' &&
    typeof ref.key === 'string'
  );
}

function mapDeep(
  value: unknown,
  leaf: (value: unknown) => unknown | undefined,
): unknown {
  const mapped = leaf(value);
  if (mapped !== undefined) return mapped;
  if (Array.isArray(value)) return value.map(v => mapDeep(v, leaf));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, mapDeep(v, leaf)]),
    );
  }
  return value;
}

/** A resource's parameters as its claim carries them: each secret reference rendered. */
export function claimParameters(
  params: Record<string, unknown>,
): Record<string, unknown> {
  return mapDeep(params, v =>
    isSecretReference(v)
      ? {
          valueFrom: {
            secretKeyRef: { name: v.secretRef.name, key: v.secretRef.key },
          },
        }
      : undefined,
  ) as Record<string, unknown>;
}

/** The parameters a claim carries, as the resource's: {@link claimParameters} undone. */
export function resourceParameters(
  parameters: Record<string, unknown>,
): Record<string, unknown> {
  return mapDeep(parameters, v =>
    isRendered(v)
      ? {
          secretRef: {
            name: v.valueFrom.secretKeyRef.name,
            key: v.valueFrom.secretKeyRef.key,
          },
        }
      : undefined,
  ) as Record<string, unknown>;
}

import { Config, readDurationFromConfig } from '@backstage/config';
import { HumanDuration } from '@backstage/types';

/**
 * What the OPA evaluator does when OPA cannot be asked: `closed` refuses the request, `open`
 * lets it through with a reason saying OPA could not be asked.
 * @public
 */
export type OpaFailureMode = 'closed' | 'open';

/** The options read from `controlPlane.opa`, before defaults. */
export interface OpaConfig {
  baseUrl: string;
  policyPath?: string;
  token?: string;
  timeout?: HumanDuration;
  failureMode?: OpaFailureMode;
}

export const defaultPolicyPath = 'idp/controlplane';
export const defaultTimeout: HumanDuration = { seconds: 2 };
export const failureModes: readonly OpaFailureMode[] = ['closed', 'open'];

/**
 * Checks OPA's base URL and drops trailing slashes, so that `{baseUrl}/v1/data/...` is right
 * with or without a path prefix.
 */
export function normalizeBaseUrl(value: string, key: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`${key} must be an absolute URL, got '${value}'`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`${key} must be an http or https URL, got '${value}'`);
  }
  if (url.search || url.hash || url.username || url.password) {
    throw new Error(
      `${key} must not carry credentials, a query or a fragment, got '${url.origin}${url.pathname}...'; put a token in controlPlane.opa.token`,
    );
  }
  return value.replace(/\/+$/, '');
}

/**
 * Checks a policy path and returns it slash-separated without leading or trailing slashes,
 * e.g. `idp/controlplane` for package `idp.controlplane`.
 */
export function normalizePolicyPath(value: string, key: string): string {
  const path = value.trim().replace(/^\/+|\/+$/g, '');
  const segments = path.split('/');
  if (!path || segments.some(s => !/^[A-Za-z0-9_-]+$/.test(s))) {
    const hint = value.includes('.')
      ? ` (use slashes as in the Data API's URL: 'idp/controlplane' for package idp.controlplane)`
      : '';
    throw new Error(
      `${key} must be a slash-separated package path such as 'idp/controlplane', got '${value}'${hint}`,
    );
  }
  return path;
}

/** Reads `controlPlane.opa` (see config.d.ts); `undefined` when `baseUrl` is not set. */
export function readOpaConfig(config: Config): OpaConfig | undefined {
  const opa = config.getOptionalConfig('controlPlane.opa');
  const baseUrl = opa?.getOptionalString('baseUrl');
  if (!opa || !baseUrl) {
    return undefined;
  }
  const policyPath = opa.getOptionalString('policyPath');
  const failureMode = opa.getOptionalString('failureMode');
  if (
    failureMode !== undefined &&
    !(failureModes as readonly string[]).includes(failureMode)
  ) {
    throw new Error(
      `controlPlane.opa.failureMode must be one of ${failureModes.join(
        ', ',
      )}, got '${failureMode}'`,
    );
  }
  return {
    baseUrl: normalizeBaseUrl(baseUrl, 'controlPlane.opa.baseUrl'),
    policyPath:
      policyPath === undefined
        ? undefined
        : normalizePolicyPath(policyPath, 'controlPlane.opa.policyPath'),
    token: opa.getOptionalString('token'),
    timeout: opa.has('timeout')
      ? readDurationFromConfig(opa, { key: 'timeout' })
      : undefined,
    failureMode: failureMode as OpaFailureMode | undefined,
  };
}

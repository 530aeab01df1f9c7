import { LoggerService } from '@backstage/backend-plugin-api';
import { Config } from '@backstage/config';
import { HumanDuration, durationToMilliseconds } from '@backstage/types';
import {
  PolicyDecision,
  PolicyEvaluator,
  PolicyInput,
} from '@idp-multicloud/plugin-control-plane-node';
import {
  defaultPolicyPath,
  defaultTimeout,
  failureModes,
  normalizeBaseUrl,
  normalizePolicyPath,
  OpaFailureMode,
  readOpaConfig,
} from './config';
import { interpretOpaResponse, unavailableCode } from './decision';

/**
 * How to reach OPA and what to do when it cannot be asked.
 * @public
 */
export interface OpaPolicyEvaluatorOptions {
  /** OPA's base URL, e.g. `http://localhost:8181`. */
  baseUrl: string;
  /**
   * The policy's package path in the Data API, slash-separated: `idp/controlplane` (the
   * default) is package `idp.controlplane`.
   */
  policyPath?: string;
  /** A bearer token for OPA's token authentication. Never logged. */
  token?: string;
  /** How long to wait for OPA's answer; 2 seconds by default. */
  timeout?: HumanDuration;
  /** `closed` (the default) refuses requests while OPA cannot be asked; `open` allows them. */
  failureMode?: OpaFailureMode;
  /** Where failures to ask OPA are logged, with OPA's URL. */
  logger: LoggerService;
}

/** Why OPA could not be asked, for the violation or reason and the log. */
interface Unavailable {
  problem: string;
  status?: number;
  cause?: unknown;
}

/** The fields of an error, by duck typing: errors from `fetch` come from another realm under jest. */
function errorFields(error: unknown): {
  name?: string;
  message?: string;
  code?: string;
  cause?: unknown;
} {
  return error && typeof error === 'object' ? (error as any) : {};
}

function describeFetchError(error: unknown, timeoutMs: number): string {
  const { name, message, cause } = errorFields(error);
  if (name === 'TimeoutError') {
    return `it did not answer within ${timeoutMs} ms`;
  }
  // undici's `fetch failed` TypeError keeps the reason (ECONNREFUSED, ENOTFOUND, ...) in `cause`.
  const reason = errorFields(cause);
  const detail = reason.code ?? reason.message ?? message ?? String(error);
  return `it could not be reached (${detail})`;
}

/** The `{ code, message }` of an OPA error body, or the start of any other body. */
function describeErrorBody(text: string): string {
  try {
    const body = JSON.parse(text);
    if (body && typeof body.message === 'string') {
      return typeof body.code === 'string'
        ? `${body.code}: ${body.message}`
        : body.message;
    }
  } catch {
    // not JSON: fall through
  }
  const trimmed = text.trim();
  return trimmed.length > 200 ? `${trimmed.slice(0, 200)}...` : trimmed;
}

/**
 * A policy evaluator (id `opa`) that asks Open Policy Agent: it posts the control plane's policy
 * input document to `{baseUrl}/v1/data/{policyPath}` and reads the package's `allow` and `deny`.
 *
 * @remarks
 *
 * Allowed when `allow` is `true` and `deny` is empty; every `deny` entry (a string, or an
 * object `{ code?, message, field?, status? }`) is a violation, with code `opa.deny` unless it
 * names one; a policy that does not allow and gives no reason, or that OPA does not have, is
 * one `opa.notAllowed` violation. When OPA cannot be asked (unreachable, too slow, an error
 * status, an answer that is not a decision), the failure mode decides: `closed` refuses with
 * `opa.unavailable`, `open` allows with a reason saying so. Such failures are logged with
 * OPA's URL.
 *
 * @public
 */
export class OpaPolicyEvaluator implements PolicyEvaluator {
  /** The evaluator's id in decisions and logs. */
  readonly id = 'opa';
  /** OPA's base URL, without trailing slashes. */
  readonly baseUrl: string;
  /** The package asked, slash-separated, e.g. `idp/controlplane`. */
  readonly policyPath: string;
  /** What happens when OPA cannot be asked. */
  readonly failureMode: OpaFailureMode;
  /** How long OPA has to answer, in milliseconds. */
  readonly timeoutMs: number;
  readonly #url: string;
  readonly #token?: string;
  readonly #logger: LoggerService;

  /**
   * Reads `controlPlane.opa`; `undefined` when `controlPlane.opa.baseUrl` is not set.
   * Throws when a key is invalid.
   */
  static fromConfig(
    config: Config,
    deps: { logger: LoggerService },
  ): OpaPolicyEvaluator | undefined {
    const options = readOpaConfig(config);
    return options
      ? new OpaPolicyEvaluator({ ...options, logger: deps.logger })
      : undefined;
  }

  constructor(options: OpaPolicyEvaluatorOptions) {
    this.baseUrl = normalizeBaseUrl(options.baseUrl, 'baseUrl');
    this.policyPath = normalizePolicyPath(
      options.policyPath ?? defaultPolicyPath,
      'policyPath',
    );
    this.failureMode = options.failureMode ?? 'closed';
    if (!failureModes.includes(this.failureMode)) {
      throw new Error(
        `failureMode must be one of ${failureModes.join(', ')}, got '${
          this.failureMode
        }'`,
      );
    }
    this.timeoutMs = durationToMilliseconds(options.timeout ?? defaultTimeout);
    if (!(this.timeoutMs > 0)) {
      throw new Error(`timeout must be positive, got ${this.timeoutMs} ms`);
    }
    this.#url = `${this.baseUrl}/v1/data/${this.policyPath
      .split('/')
      .map(encodeURIComponent)
      .join('/')}`;
    this.#token = options.token || undefined;
    this.#logger = options.logger;
  }

  /** The Data API URL the input is posted to. */
  get url(): string {
    return this.#url;
  }

  /**
   * Asks OPA for a decision on the input document. Never throws: when OPA cannot be asked, the
   * failure mode decides (and the failure is logged).
   */
  async evaluate(input: PolicyInput): Promise<PolicyDecision> {
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      Accept: 'application/json',
    };
    if (this.#token) {
      headers.Authorization = `Bearer ${this.#token}`;
    }

    let status: number;
    let text: string;
    try {
      // The timeout covers connecting, OPA's evaluation and reading the body.
      const response = await fetch(this.#url, {
        method: 'POST',
        headers,
        body: JSON.stringify({ input }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      status = response.status;
      text = await response.text();
    } catch (error) {
      return this.#unavailable({
        problem: describeFetchError(error, this.timeoutMs),
        cause: error,
      });
    }

    if (status < 200 || status >= 300) {
      return this.#unavailable({
        problem: `it answered HTTP ${status} (${describeErrorBody(text)})`,
        status,
      });
    }

    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return this.#unavailable({
        problem: `its answer is not JSON (${describeErrorBody(text)})`,
        status,
      });
    }

    const answer = interpretOpaResponse(body, this.policyPath);
    if (!answer.ok) {
      return this.#unavailable({ problem: answer.problem, status });
    }
    if (answer.warning) {
      this.#logger.warn(`OPA warned about the query: ${answer.warning}`, {
        url: this.#url,
      });
    }
    if (answer.undefinedDocument) {
      this.#logger.warn(
        `OPA has no document at ${this.policyPath}: every request is refused until the policy is loaded`,
        { url: this.#url, policyPath: this.policyPath },
      );
    }
    return answer.decision;
  }

  #unavailable({ problem, status, cause }: Unavailable): PolicyDecision {
    const open = this.failureMode === 'open';
    this.#logger.error(
      `OPA at ${
        this.#url
      } could not be asked for a decision: ${problem}; the request is ${
        open ? 'allowed' : 'refused'
      } (failure mode ${this.failureMode})`,
      {
        url: this.#url,
        policyPath: this.policyPath,
        failureMode: this.failureMode,
        ...(status !== undefined && { status }),
        ...(cause !== undefined && {
          error: errorFields(cause).message ?? String(cause),
        }),
      },
    );
    if (open) {
      return {
        allowed: true,
        violations: [],
        reasons: [
          `allowed without a decision of the OPA policy ${this.policyPath}: OPA could not be asked (${problem}) and the OPA failure mode is open`,
        ],
      };
    }
    return {
      allowed: false,
      violations: [
        {
          code: unavailableCode,
          message: `OPA could not be asked for a decision of the policy ${this.policyPath}: ${problem}. Requests are refused until OPA answers again.`,
        },
      ],
    };
  }
}

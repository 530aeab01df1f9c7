import {
  PolicyDecision,
  PolicyViolation,
} from '@idp-multicloud/plugin-control-plane-node';
import { z } from 'zod';

/** One entry of the policy's `deny` set: a message, or a violation object. */
const denyEntrySchema = z.union(
  [
    z.string(),
    z.object({
      code: z.string().min(1).optional(),
      message: z.string(),
      field: z.string().optional(),
      status: z.union([z.literal(403), z.literal(422)]).optional(),
    }),
  ],
  {
    error:
      'expected a message, or an object { code?, message, field?, status?: 403 | 422 }',
  },
);

/** The document of the policy's package: only `allow` and `deny` are read. */
const policyDocumentSchema = z.object(
  {
    allow: z.boolean().optional(),
    deny: z.array(denyEntrySchema).optional(),
  },
  { error: 'expected the object of a package with `allow` and `deny`' },
);

/** OPA's answer to `POST /v1/data/{path}`: `result` is left out when the document is undefined. */
const dataResponseSchema = z.object(
  {
    result: policyDocumentSchema.optional(),
    decision_id: z.string().optional(),
    warning: z
      .object({ code: z.string().optional(), message: z.string().optional() })
      .optional(),
  },
  { error: 'expected a JSON object' },
);

/** The violation code of a deny entry that names none. */
export const denyCode = 'opa.deny';
/** The violation code when the policy does not allow and gives no reason. */
export const notAllowedCode = 'opa.notAllowed';
/** The violation code when OPA could not be asked (failure mode `closed`). */
export const unavailableCode = 'opa.unavailable';

/** What OPA's answer means, or why it is not an answer. */
export type OpaAnswer =
  | {
      ok: true;
      decision: PolicyDecision;
      /** OPA has no document at the policy path: the policy is not loaded, or misnamed. */
      undefinedDocument: boolean;
      /** OPA's `warning`, e.g. about API usage. */
      warning?: string;
    }
  | { ok: false; problem: string };

function describeIssues(error: z.ZodError): string {
  const issues = error.issues.slice(0, 3).map(issue => {
    const at = issue.path.length ? `${issue.path.join('.')}: ` : '';
    return `${at}${issue.message}`;
  });
  const more = error.issues.length - issues.length;
  return issues.join('; ') + (more > 0 ? ` (and ${more} more)` : '');
}

/**
 * Turns OPA's Data API response body into a policy decision: allowed when the package's
 * `allow` is `true` and its `deny` set is empty. Every deny entry is a violation (code
 * `opa.deny` unless it names one); a policy that does not allow and says no more yields one
 * `opa.notAllowed` violation, as does an undefined document. A body that is not such a
 * response is not an answer (`ok: false`).
 */
export function interpretOpaResponse(
  body: unknown,
  policyPath: string,
): OpaAnswer {
  const parsed = dataResponseSchema.safeParse(body);
  if (!parsed.success) {
    return {
      ok: false,
      problem: `its answer is not a decision of package ${policyPath} (${describeIssues(
        parsed.error,
      )})`,
    };
  }
  const { result, decision_id: decisionId, warning } = parsed.data;
  const reasons = decisionId ? [`OPA decision id ${decisionId}`] : [];
  const warningText = warning
    ? [warning.code, warning.message].filter(Boolean).join(': ')
    : undefined;

  if (result === undefined) {
    return {
      ok: true,
      undefinedDocument: true,
      warning: warningText,
      decision: {
        allowed: false,
        violations: [
          {
            code: notAllowedCode,
            message: `denied by the OPA policy ${policyPath}: OPA has no document at ${policyPath} (is the policy loaded?)`,
          },
        ],
        ...(reasons.length > 0 ? { reasons } : {}),
      },
    };
  }

  const violations: PolicyViolation[] = (result.deny ?? []).map(entry =>
    typeof entry === 'string'
      ? { code: denyCode, message: entry }
      : {
          code: entry.code ?? denyCode,
          message: entry.message,
          ...(entry.field !== undefined && { field: entry.field }),
          ...(entry.status !== undefined && { status: entry.status }),
        },
  );
  const allowed = result.allow === true && violations.length === 0;
  if (!allowed && violations.length === 0) {
    violations.push({
      code: notAllowedCode,
      message: `denied by the OPA policy ${policyPath}`,
    });
  }
  return {
    ok: true,
    undefinedDocument: false,
    warning: warningText,
    decision: {
      allowed,
      violations,
      ...(allowed
        ? { reasons: [`allowed by the OPA policy ${policyPath}`, ...reasons] }
        : reasons.length > 0 && { reasons }),
    },
  };
}

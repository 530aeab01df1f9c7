import { CustomErrorBase, InputError } from '@backstage/errors';
import {
  describeIssues,
  toValidationIssues,
  ValidationIssue,
} from '@idp-multicloud/plugin-control-plane-common';
import { z } from 'zod';

/**
 * A request that is well-formed but cannot be processed as sent: 422. Used for an
 * Idempotency-Key reused with a different request.
 */
export class UnprocessableEntityError extends CustomErrorBase {
  name = 'UnprocessableEntityError' as const;
  statusCode = 422;
}

/**
 * A 400 naming every offending field: the message lists them, and `issues` carries them for
 * clients (Backstage's error handler serializes it into `error.issues`).
 */
export function validationError(issues: ValidationIssue[]): InputError {
  const error = new InputError(describeIssues(issues));
  Object.assign(error, { issues });
  return error;
}

/** Parses input with a zod schema, or throws a 400 naming each offending field. */
export function parseInput<T extends z.ZodType>(
  schema: T,
  value: unknown,
  prefix = '',
): z.output<T> {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw validationError(toValidationIssues(result.error, prefix));
  }
  return result.data;
}

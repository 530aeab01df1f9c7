import type { Schemas } from './schemas';

/**
 * A failed call to the control plane, typed by what went wrong. Each carries the server's
 * error (`name`, `message`), the HTTP status, and for validation errors the fields at fault.
 * @public
 */
export class IdpError extends Error {
  /** The HTTP status (0 when the server was not reached). */
  readonly statusCode: number;
  /** The server's error name, e.g. InputError. */
  readonly errorName: string;
  /** The fields at fault, for validation errors. */
  readonly issues: { path: string; message: string }[];
  /** The whole error body the server sent. */
  readonly body: unknown;

  constructor(
    message: string,
    options: {
      statusCode: number;
      errorName?: string;
      issues?: { path: string; message: string }[];
      body?: unknown;
      cause?: unknown;
    },
  ) {
    super(message, options.cause ? { cause: options.cause } : undefined);
    this.name = new.target.name;
    this.statusCode = options.statusCode;
    this.errorName = options.errorName ?? 'Error';
    this.issues = options.issues ?? [];
    this.body = options.body;
  }

  /** The first field at fault, e.g. `params.size`. */
  get field(): string | undefined {
    return this.issues[0]?.path;
  }
}

/** The request was invalid (400): see `issues`. @public */
export class IdpValidationError extends IdpError {}
/** No or invalid credentials (401). @public */
export class IdpAuthenticationError extends IdpError {}
/** The permission policy refused the call (403). @public */
export class IdpForbiddenError extends IdpError {}
/** A quota or budget would be exceeded. @public */
export class IdpQuotaError extends IdpError {}
/** No such object (404). @public */
export class IdpNotFoundError extends IdpError {}
/** The call conflicts with the current state, or its key is in flight (409). @public */
export class IdpConflictError extends IdpError {}
/** The Idempotency-Key was used for a different request (422). @public */
export class IdpIdempotencyError extends IdpError {}
/** The server failed (5xx) after all retries. @public */
export class IdpServerError extends IdpError {}
/** The server could not be reached after all retries. @public */
export class IdpNetworkError extends IdpError {}
/**
 * The change needs review and was not made: the control plane proposed it as a pull request
 * instead (202). Follow it with `idp.changes.proposal(error.proposal.id)`. @public
 */
export class IdpReviewRequiredError extends IdpError {
  /** The proposal: its change id, pull request and status. */
  readonly proposal: Schemas['ChangeProposal'];

  constructor(proposal: Schemas['ChangeProposal']) {
    super(
      `The change needs review: proposed as pull request #${
        proposal.pullRequest?.number ?? '?'
      }${
        proposal.pullRequest ? ` (${proposal.pullRequest.url})` : ''
      }, change ${proposal.id}`,
      { statusCode: 202, errorName: 'ReviewRequired', body: { proposal } },
    );
    this.proposal = proposal;
  }
}

/** `waitFor` ended without the resource reaching the state. @public */
export class IdpWaitError extends IdpError {}

/**
 * Builds the typed error of an HTTP error response.
 * @public
 */
export async function errorFromResponse(response: Response): Promise<IdpError> {
  let body: any;
  const text = await response.text().catch(() => '');
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  const error = body?.error ?? {};
  const errorName: string = error.name ?? response.statusText ?? 'Error';
  const message: string =
    error.message ??
    (text.slice(0, 500) || `Request failed with status ${response.status}`);
  const options = {
    statusCode: response.status,
    errorName,
    issues: Array.isArray(error.issues) ? error.issues : [],
    body,
  };
  if (errorName === 'QuotaExceededError')
    return new IdpQuotaError(message, options);
  switch (response.status) {
    case 400:
      return new IdpValidationError(message, options);
    case 401:
      return new IdpAuthenticationError(message, options);
    case 403:
      return new IdpForbiddenError(message, options);
    case 404:
      return new IdpNotFoundError(message, options);
    case 409:
      return new IdpConflictError(message, options);
    case 422:
      return new IdpIdempotencyError(message, options);
    default:
      return response.status >= 500
        ? new IdpServerError(message, options)
        : new IdpError(message, options);
  }
}

import { z } from 'zod';

/** An Argo CD API call that failed. */
export class ArgoCdError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ArgoCdError';
  }
}

/** One object an Application manages, as `status.resources[]` lists it. */
const resourceStatusSchema = z.object({
  group: z.string().optional(),
  version: z.string().optional(),
  kind: z.string(),
  namespace: z.string().optional(),
  name: z.string(),
  status: z.string().optional(),
  health: z
    .object({ status: z.string().optional(), message: z.string().optional() })
    .optional(),
  requiresPruning: z.boolean().optional(),
});

/** The part of an Argo CD Application the control plane reads. */
export const applicationSchema = z.object({
  metadata: z.object({
    name: z.string(),
    namespace: z.string().optional(),
    annotations: z.record(z.string(), z.string()).nullish(),
  }),
  spec: z
    .object({
      syncPolicy: z
        .object({ automated: z.record(z.string(), z.unknown()).nullish() })
        .passthrough()
        .nullish(),
    })
    .passthrough()
    .optional(),
  status: z
    .object({
      sync: z
        .object({
          status: z.string().optional(),
          revision: z.string().optional(),
        })
        .optional(),
      health: z
        .object({
          status: z.string().optional(),
          message: z.string().optional(),
        })
        .optional(),
      resources: z.array(resourceStatusSchema).nullish(),
      conditions: z
        .array(z.object({ type: z.string(), message: z.string().optional() }))
        .nullish(),
      operationState: z
        .object({
          phase: z.string().optional(),
          message: z.string().optional(),
        })
        .nullish(),
    })
    .optional(),
});

/** An Argo CD Application, as far as the control plane reads it. */
export type ArgoApplication = z.infer<typeof applicationSchema>;

/** How to reach Argo CD's API server. */
export interface ArgoCdClientOptions {
  /** e.g. `https://argocd.example.com` (the API is under `/api/v1`). */
  baseUrl: string;
  /** An Argo CD API token (a project role's or an account's), sent as a bearer token. */
  token: string;
  /** The namespace of the Applications (`appNamespace`), when not Argo CD's own. */
  appNamespace?: string;
  timeoutMs?: number;
}

/**
 * A small client of Argo CD's REST API (`/api/v1/applications`): reads an Application with its
 * sync and health status and patches its spec. Answers are checked with zod.
 */
export class ArgoCdClient {
  constructor(private readonly options: ArgoCdClientOptions) {}

  /** `GET /api/v1/applications/{name}`; undefined when Argo CD does not have it (or hides it). */
  async getApplication(name: string): Promise<ArgoApplication | undefined> {
    const res = await this.#call(
      'GET',
      `/api/v1/applications/${encodeURIComponent(name)}`,
    );
    if (res.status === 404 || res.status === 403) return undefined;
    return this.#parse(res, applicationSchema, `application ${name}`);
  }

  /** `GET /api/v1/applications?selector=...`: the Applications matching a label selector. */
  async listApplications(selector?: string): Promise<ArgoApplication[]> {
    const query = selector ? `?selector=${encodeURIComponent(selector)}` : '';
    const res = await this.#call('GET', `/api/v1/applications${query}`);
    const list = await this.#parse(
      res,
      z.object({ items: z.array(applicationSchema).nullish() }),
      'applications',
    );
    return list.items ?? [];
  }

  /** `PATCH /api/v1/applications/{name}` with a JSON merge patch. */
  async patchApplication(
    name: string,
    patch: Record<string, unknown>,
  ): Promise<ArgoApplication> {
    const res = await this.#call(
      'PATCH',
      `/api/v1/applications/${encodeURIComponent(name)}`,
      {
        name,
        patch: JSON.stringify(patch),
        patchType: 'merge',
        ...(this.options.appNamespace
          ? { appNamespace: this.options.appNamespace }
          : {}),
      },
    );
    return this.#parse(res, applicationSchema, `application ${name}`);
  }

  async #call(method: string, path: string, body?: unknown): Promise<Response> {
    const url = new URL(path, this.options.baseUrl);
    if (this.options.appNamespace && method === 'GET') {
      url.searchParams.set('appNamespace', this.options.appNamespace);
    }
    try {
      return await fetch(url, {
        method,
        headers: {
          authorization: `Bearer ${this.options.token}`,
          accept: 'application/json',
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
        body: body ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
      });
    } catch (error) {
      throw new ArgoCdError(
        `Argo CD at ${url.origin} cannot be reached: ${error}`,
        undefined,
        {
          cause: error,
        },
      );
    }
  }

  async #parse<T>(
    res: Response,
    schema: z.ZodType<T>,
    what: string,
  ): Promise<T> {
    const text = await res.text();
    if (!res.ok) {
      // Argo CD answers errors as {"error", "code", "message"} (gRPC gateway).
      let message = text.slice(0, 300);
      try {
        message = JSON.parse(text).message ?? message;
      } catch {
        // not JSON: keep the text
      }
      throw new ArgoCdError(
        `Argo CD refused to read ${what}: ${res.status} ${message}`,
        res.status,
      );
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new ArgoCdError(
        `Argo CD answered ${what} with something other than JSON`,
        res.status,
        {
          cause: error,
        },
      );
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      throw new ArgoCdError(
        `Argo CD answered ${what} in an unexpected shape: ${parsed.error.issues
          .map(i => `${i.path.join('.')}: ${i.message}`)
          .join('; ')}`,
        res.status,
      );
    }
    return parsed.data;
  }
}

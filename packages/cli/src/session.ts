import {
  parseResourceRef,
  resourceRefSchema,
  stringifyResourceRef,
} from '@idp-multicloud/plugin-control-plane-common';
import { createIdpClient, IdpClient } from '@idp-multicloud/sdk';
import { Command } from 'commander';
import { readConfig } from './config';
import { OutputFormat } from './format';
import { UsageError } from './params';

/** Where a command talks to, as whom, and how it prints. */
export interface Session {
  idp: IdpClient;
  output: OutputFormat;
  /** The signed-in user's entity ref, when the token says it. */
  user?: string;
}

const DEFAULT_SERVER = 'http://localhost:7007';

/** The server to talk to: `--server` / `IDP_SERVER`, then the one saved, then localhost. */
export const serverOf = (flag?: string, saved?: string) =>
  (flag ?? saved ?? DEFAULT_SERVER).replace(/\/+$/, '');

/** The subject of a Backstage token (a JWT), without verifying it: the server does that. */
export function tokenSubject(token?: string): string | undefined {
  const payload = token?.split('.')[1];
  if (!payload) return undefined;
  try {
    const claims = JSON.parse(
      Buffer.from(payload, 'base64url').toString('utf8'),
    );
    return typeof claims.sub === 'string' ? claims.sub : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The session of a command: `--server` / `IDP_SERVER`, then the server `idp login` saved,
 * then localhost; `--token` / `IDP_TOKEN`, then the saved token when it is for that server.
 */
export async function sessionOf(command: Command): Promise<Session> {
  const opts = command.optsWithGlobals<{
    server?: string;
    token?: string;
    output: OutputFormat;
  }>();
  const saved = await readConfig();
  const server = serverOf(opts.server, saved.server);
  const token =
    opts.token ??
    (saved.server === undefined || saved.server === server
      ? saved.token
      : undefined);
  return {
    idp: createIdpClient({ baseUrl: server, token }),
    output: opts.output,
    user: tokenSubject(token),
  };
}

/** `name`, `namespace/name` or `resource:namespace/name`, as `resource:namespace/name`. */
export function refArgument(raw: string): string {
  const checked = resourceRefSchema.safeParse(raw);
  if (!checked.success) {
    throw new UsageError(
      `'${raw}' is not a resource ref: ${checked.error.issues[0].message}`,
    );
  }
  return stringifyResourceRef(parseResourceRef(raw));
}

/** `90s`, `15m`, `1h`, `500ms` or an ISO 8601 duration, in milliseconds. */
export function durationMs(raw: string): number {
  const simple = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(raw.trim());
  if (simple) {
    const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[
      simple[2] as 'ms'
    ]!;
    return Number(simple[1]) * unit;
  }
  const iso = /^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?$/.exec(
    raw.trim(),
  );
  if (iso && (iso[1] || iso[2] || iso[3])) {
    return (
      (Number(iso[1] ?? 0) * 3600 +
        Number(iso[2] ?? 0) * 60 +
        Number(iso[3] ?? 0)) *
      1000
    );
  }
  throw new UsageError(`'${raw}' is not a duration: use e.g. 90s, 15m or 1h`);
}

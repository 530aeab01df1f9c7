/* eslint-disable new-cap -- openapi-fetch names its methods after HTTP verbs: GET, POST, ... */
import { ResourceEvent } from '@idp-multicloud/plugin-control-plane-common';
import { errorFromResponse, IdpError } from './errors';
import { splitRef } from './resourceRef';
import type { Schemas } from './schemas';
import { readEventStream } from './sse';
import { Transport } from './transport';

/** A resource's events so far (after `afterId`), oldest first, every page of them. */
export async function readEventLog(
  t: Transport,
  ref: string,
  o: { afterId?: number } = {},
): Promise<ResourceEvent[]> {
  const { api, apiBase, call } = t;
  const limit = 500;
  const all: ResourceEvent[] = [];
  let after = o.afterId ?? 0;
  for (;;) {
    const page = await call(
      api.GET('/resources/{namespace}/{name}/events', {
        baseUrl: await apiBase(),
        params: { path: splitRef(ref), query: { after, limit } },
        headers: { accept: 'application/json' },
      }),
    );
    const { items, lastId } = page as Schemas['ResourceEventPage'];
    all.push(...(items as ResourceEvent[]));
    if (items.length < limit) return all;
    after = lastId;
  }
}

/**
 * A resource's events as they happen (after `afterId`), from its server-sent event stream,
 * reconnecting with the last id seen when the connection drops (backing off, up to eight
 * failures in a row); a client error (403, 404, ...) ends it. Ends when `signal` aborts.
 */
export async function* followEvents(
  t: Transport,
  ref: string,
  o: { afterId?: number; signal?: AbortSignal } = {},
): AsyncGenerator<ResourceEvent> {
  const { apiBase } = t;
  const { namespace, name } = splitRef(ref);
  let lastId = o.afterId ?? 0;
  let failures = 0;
  while (!o.signal?.aborted) {
    try {
      const request = new Request(
        `${await apiBase()}/resources/${encodeURIComponent(
          namespace,
        )}/${encodeURIComponent(name)}/events`,
        {
          headers: {
            accept: 'text/event-stream',
            'last-event-id': String(lastId),
          },
          signal: o.signal,
        },
      );
      const response = await t.fetch(request);
      if (!response.ok || !response.body) {
        throw await errorFromResponse(response);
      }
      failures = 0;
      for await (const message of readEventStream(response.body)) {
        const event = JSON.parse(message.data) as ResourceEvent;
        lastId = event.id;
        yield event;
      }
    } catch (error) {
      if (o.signal?.aborted) return;
      // Client errors (403, 404, ...) will not get better by reconnecting.
      if (
        error instanceof IdpError &&
        error.statusCode >= 400 &&
        error.statusCode < 500
      )
        throw error;
      failures += 1;
      if (failures > 8) throw error;
    }
    const delay = Math.min(10_000, 250 * 2 ** failures);
    await new Promise(r => setTimeout(r, delay));
  }
}

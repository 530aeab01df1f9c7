import { Request, Response } from 'express';
import { ResourceEventStore } from './ResourceEventStore';

export interface StreamOptions {
  /** How often to look for events written by other replicas. */
  pollMs?: number;
  /** How often to send a comment so proxies keep the connection open. */
  heartbeatMs?: number;
}

/**
 * Streams a resource's events as server-sent events: first those after the client's
 * `Last-Event-ID` (or `?after=`), then each new one as it is written. Each event carries its
 * id, so a reconnecting client resumes where it stopped.
 */
export async function streamResourceEvents(
  req: Request,
  res: Response,
  store: ResourceEventStore,
  ref: string,
  options: StreamOptions = {},
): Promise<void> {
  const pollMs = options.pollMs ?? 2000;
  const heartbeatMs = options.heartbeatMs ?? 15000;
  const resumeFrom = Number(
    req.header('last-event-id') ?? req.query.after ?? 0,
  );
  let lastId = Number.isFinite(resumeFrom) && resumeFrom > 0 ? resumeFrom : 0;

  res.status(200);
  res.setHeader('content-type', 'text/event-stream; charset=utf-8');
  res.setHeader('cache-control', 'no-cache, no-transform');
  res.setHeader('connection', 'keep-alive');
  res.setHeader('x-accel-buffering', 'no');
  res.flushHeaders();

  const flush = () => (res as unknown as { flush?: () => void }).flush?.();
  let closed = false;
  let wake: (() => void) | undefined;
  const sleep = () =>
    new Promise<void>(resolve => {
      const timer = setTimeout(resolve, pollMs);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  const unsubscribe = store.subscribe(ref, () => wake?.());
  const heartbeat = setInterval(() => {
    res.write(': keep-alive\n\n');
    flush();
  }, heartbeatMs);
  req.on('close', () => {
    closed = true;
    wake?.();
  });

  try {
    while (!closed) {
      const events = await store.since(ref, lastId);
      for (const event of events) {
        res.write(
          `id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(
            event,
          )}\n\n`,
        );
        lastId = event.id;
      }
      if (events.length > 0) flush();
      if (events.length < 500) {
        await sleep(); // else more are waiting: read on at once
      }
    }
  } finally {
    clearInterval(heartbeat);
    unsubscribe();
    res.end();
  }
}

import { useApi } from '@backstage/frontend-plugin-api';
import { ResourceEvent } from '@idp-multicloud/plugin-control-plane-common';
import { Resource } from '@idp-multicloud/sdk';
import { useEffect, useMemo, useRef, useState } from 'react';
import { controlPlaneApiRef } from '../../api';

/** Browsers allow ~6 connections per host over HTTP/1.1; leave room for ordinary calls. */
export const MAX_EVENT_STREAMS = 4;

const inFlight = new Set(['PENDING', 'PROVISIONING', 'DELETING', 'DEGRADED']);

/**
 * Which resources to follow live: all of them when few; otherwise the selected one and those
 * in flight first, up to {@link MAX_EVENT_STREAMS}.
 */
export function streamsToOpen(
  resources: Resource[],
  selected?: string,
): string[] {
  const ranked = [...resources].sort((a, b) => {
    const rank = (r: Resource) =>
      (r.ref === selected ? 0 : 2) + (inFlight.has(r.status.state) ? 0 : 1);
    return rank(a) - rank(b);
  });
  return ranked.slice(0, MAX_EVENT_STREAMS).map(r => r.ref);
}

export interface LiveState {
  /** The latest state per resource ref, from `state.changed` events. */
  states: Record<string, string>;
  /** Bumped on every event of a resource: a cue to reload its details. */
  ticks: Record<string, number>;
  /** The latest event per resource ref. */
  lastEvent: Record<string, ResourceEvent>;
}

/** Follows the event streams of the given resources and keeps their latest state. */
export function useLiveStates(refs: string[]): LiveState {
  const api = useApi(controlPlaneApiRef);
  const [live, setLive] = useState<LiveState>({
    states: {},
    ticks: {},
    lastEvent: {},
  });
  const key = useMemo(() => [...refs].sort().join(' '), [refs]);
  const mounted = useRef(true);

  useEffect(() => {
    mounted.current = true;
    const controller = new AbortController();
    for (const ref of key ? key.split(' ') : []) {
      (async () => {
        try {
          for await (const event of api.events(ref, controller.signal)) {
            if (!mounted.current || controller.signal.aborted) return;
            setLive(prev => ({
              states:
                event.type === 'state.changed' && event.state
                  ? { ...prev.states, [ref]: event.state }
                  : prev.states,
              ticks: { ...prev.ticks, [ref]: (prev.ticks[ref] ?? 0) + 1 },
              lastEvent: { ...prev.lastEvent, [ref]: event },
            }));
          }
        } catch {
          // The stream is a nicety: the list still shows the state it was loaded with.
        }
      })();
    }
    return () => {
      mounted.current = false;
      controller.abort();
    };
  }, [api, key]);

  return live;
}

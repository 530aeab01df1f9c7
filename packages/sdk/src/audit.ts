/* eslint-disable new-cap -- openapi-fetch names its methods after HTTP verbs: GET, POST, ... */
import type { IdpClient } from './IdpClient';
import { Transport } from './transport';

/** The audit calls: the trail of what was asked and decided, and a check of its hash chain. */
export function auditCalls(t: Transport): IdpClient['audit'] {
  const { api, apiBase, call } = t;
  return {
    list: async query =>
      call(api.GET('/audit', { baseUrl: await apiBase(), params: { query } })),
    verify: async () =>
      call(api.GET('/audit/verify', { baseUrl: await apiBase() })),
  };
}

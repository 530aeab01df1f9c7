/* eslint-disable new-cap -- openapi-fetch names its methods after HTTP verbs: GET, POST, ... */
import type { IdpClient } from './IdpClient';
import { Transport } from './transport';

/** The generators: a component's or a project's resources as files. */
export function generateCalls(t: Transport): IdpClient['generate'] {
  const { api, apiBase, call } = t;
  return async (format, query) =>
    call(
      api.GET('/generate/{format}', {
        baseUrl: await apiBase(),
        params: { path: { format }, query },
      }),
    );
}

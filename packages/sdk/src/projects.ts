/* eslint-disable new-cap -- openapi-fetch names its methods after HTTP verbs: GET, POST, ... */
import type { IdpClient } from './IdpClient';
import { Transport } from './transport';

/** Projects: the definitions a project sees, and its compliance report. */
export function projectCalls(t: Transport): IdpClient['projects'] {
  const { api, apiBase, call } = t;
  return {
    product: async (project, id) =>
      call(
        api.GET('/projects/{project}/products/{id}', {
          baseUrl: await apiBase(),
          params: { path: { project, id } },
        }),
      ),
    compliance: async project =>
      call(
        api.GET('/projects/{project}/compliance', {
          baseUrl: await apiBase(),
          params: { path: { project } },
        }),
      ),
  };
}

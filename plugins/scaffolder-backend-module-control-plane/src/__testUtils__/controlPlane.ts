import { mockCredentials, mockServices } from '@backstage/backend-test-utils';
import { ActionContext } from '@backstage/plugin-scaffolder-node';
import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import { createIdpClient } from '@idp-multicloud/sdk';
import { startTestControlPlane } from '@idp-multicloud/test-utils';
import { randomUUID } from 'node:crypto';

/** Users of the test backend: ana may do anything, eve nothing. */
export const users = { ana: 'user:default/ana', eve: 'user:default/eve' };

/**
 * A real control plane (see @idp-multicloud/test-utils) and what the actions need to reach
 * it: a discovery pointing at it and an auth service whose on-behalf-of tokens it accepts.
 */
export async function startControlPlane() {
  const cp = await startTestControlPlane({
    deny: [users.eve],
    provisioningMs: 150,
  });
  const { baseUrl, discovery } = cp;
  const auth = mockServices.auth();
  const checkpoints = new Map<string, Map<string, unknown>>();
  return {
    options: { discovery, auth },
    /** The API as a user, to look at what the actions did. */
    clientAs: (user: string) =>
      createIdpClient({ baseUrl, token: cp.tokenFor(user) }),
    /**
     * An action context of a task started by the user: a task of its own unless one is
     * given, with checkpoints kept per task as the scaffolder keeps them, and a logger
     * whose calls can be read.
     */
    context(
      input: Record<string, unknown>,
      user = users.ana,
      overrides: Partial<ActionContext<any, any>> = {},
    ) {
      const task = overrides.task ?? { id: randomUUID() };
      const saved = checkpoints.get(task.id) ?? new Map<string, unknown>();
      checkpoints.set(task.id, saved);
      const logger = mockServices.logger.mock();
      return {
        ...createMockActionContext<any, any>({ input, task, logger }),
        getInitiatorCredentials: async () => mockCredentials.user(user),
        async checkpoint({ key, fn }: { key: string; fn: () => unknown }) {
          if (!saved.has(key)) saved.set(key, await fn());
          return saved.get(key);
        },
        ...overrides,
        task,
      } as ActionContext<any, any> & {
        output: jest.Mock;
        logger: typeof logger;
      };
    },
    stop: cp.stop,
  };
}

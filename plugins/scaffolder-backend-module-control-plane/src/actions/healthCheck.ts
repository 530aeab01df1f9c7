import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import { IdpClient } from '@idp-multicloud/sdk';

/**
 * `control-plane:health:check`: fails a template run early, before anything is created, when
 * the control plane is unreachable or its database is not migrated.
 *
 * @public
 */
export function createHealthCheckAction(options: { client: IdpClient }) {
  return createTemplateAction({
    id: 'control-plane:health:check',
    description:
      'Checks that the control plane answers and its database is migrated; fails the task otherwise.',
    schema: {
      output: {
        status: z =>
          z.enum(['ok', 'degraded']).describe('the control plane status'),
        databaseClient: z =>
          z.string().describe('the database client it runs on'),
      },
    },
    async handler(ctx) {
      const health = await options.client.health();
      ctx.output('status', health.status);
      ctx.output('databaseClient', health.database.client);
      if (health.status !== 'ok') {
        throw new Error(
          `The control plane is ${
            health.status
          }: migrations pending: ${health.database.migrations.pending.join(
            ', ',
          )}`,
        );
      }
      ctx.logger.info(`control plane is ok on ${health.database.client}`);
    },
  });
}

import { TestDatabases } from '@backstage/backend-test-utils';
import { randomUUID } from 'node:crypto';
import { migrateUp } from '../database/migrations';
import { ResourceEventStore } from '../events/ResourceEventStore';
import { OperationStore } from './OperationStore';

const databases = TestDatabases.create();
jest.setTimeout(60_000);

describe.each(databases.eachSupportedId())('OperationStore on %s', id => {
  it('knows the resource incarnation an operation acts on', async () => {
    const knex = await databases.init(id);
    await migrateUp(knex);
    const operations = new OperationStore(knex, new ResourceEventStore(knex));
    const resourceUid = randomUUID();
    const operationId = await operations.create({
      resourceUid,
      resourceRef: 'resource:default/orders-db',
      type: 'create',
      params: {},
      actor: 'user:default/jane',
    });

    expect(await operations.resourceUidOf(operationId)).toBe(resourceUid);
    expect(await operations.resourceUidOf(randomUUID())).toBeUndefined();
  });
});

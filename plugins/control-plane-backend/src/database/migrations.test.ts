import { TestDatabases } from '@backstage/backend-test-utils';
import { OperationStore } from '../operations/OperationStore';
import { ResourceEventStore } from '../events/ResourceEventStore';
import {
  migrateDownAll,
  migrateDownOne,
  migrateUp,
  migrationStatus,
} from './migrations';

const databases = TestDatabases.create();
const ROWID = '202612021200_operationStepsWithoutRowid.js';
const ONE_EVENT_TABLE = '202612021210_oneEventTable.js';

describe.each(databases.eachSupportedId())('migrations on %s', databaseId => {
  it('go all the way up, all the way down, and up again', async () => {
    const knex = await databases.init(databaseId);

    await migrateUp(knex);
    const up = await migrationStatus(knex);
    expect(up.pending).toEqual([]);
    expect(up.applied).toContain('202611231930_createResources.js');
    expect(await knex.schema.hasTable('resources')).toBe(true);

    await migrateDownAll(knex);
    expect((await migrationStatus(knex)).applied).toEqual([]);
    expect(await knex.schema.hasTable('resources')).toBe(false);
    expect(await knex.schema.hasTable('resource_transitions')).toBe(false);

    await migrateUp(knex);
    expect((await migrationStatus(knex)).applied).toEqual(up.applied);
  });

  it('keeps the steps of operations through the rebuild of operation_steps, both ways', async () => {
    const knex = await databases.init(databaseId);
    await migrateUp(knex);
    const sqlite = databaseId.startsWith('SQLITE');
    const definition = async () =>
      sqlite
        ? String(
            (
              await knex('sqlite_master')
                .where({ name: 'operation_steps' })
                .first('sql')
            ).sql,
          )
        : '';
    // (PostgreSQL has no such thing: its definition reads empty here)
    expect(await definition()).toMatch(sqlite ? /WITHOUT ROWID$/ : /^$/);

    await migrateDownOne(knex, ROWID);
    expect(await definition()).not.toMatch(/WITHOUT ROWID/);
    const at = new Date().toISOString();
    await knex('operations').insert({
      id: 'op-1',
      resource_uid: 'uid-1',
      resource_ref: 'resource:default/db',
      type: 'create',
      state: 'running',
      params: '{}',
      actor: 'user:default/jane',
      next_run_at: at,
      created_at: at,
      updated_at: at,
    });
    const steps = [0, 1].map(position => ({
      operation_id: 'op-1',
      position,
      name: `step_${position}`,
      state: position === 0 ? 'succeeded' : 'running',
      attempts: 1,
      compensation_attempts: 0,
      result: position === 0 ? '{"ok":true}' : null,
      error: null,
    }));
    await knex('operation_steps').insert(steps);
    const read = () =>
      knex('operation_steps').orderBy('position').select(Object.keys(steps[0]));

    await migrateUp(knex);
    expect(await read()).toEqual(steps);
    // the primary key still holds
    await expect(
      knex('operation_steps').insert({ ...steps[0], name: 'again' }),
    ).rejects.toThrow();
    await migrateDownOne(knex, ROWID);
    expect(await read()).toEqual(steps);
  });

  it('moves the timelines of operations into the resource streams, and back', async () => {
    const knex = await databases.init(databaseId);
    await migrateUp(knex);
    await migrateDownOne(knex, ONE_EVENT_TABLE);
    const at = (s: number) =>
      new Date(Date.UTC(2026, 11, 1, 9, 0, s)).toISOString();
    await knex('operations').insert({
      id: 'op-1',
      resource_uid: 'uid-1',
      resource_ref: 'resource:default/db',
      type: 'create',
      state: 'cancelled',
      params: '{}',
      actor: 'user:default/jane',
      next_run_at: at(0),
      created_at: at(0),
      updated_at: at(3),
    });
    // what the engine wrote twice (the stream with the step in its data, `{}` for none),
    // the acceptance (its params on the timeline only), and what only the timeline had
    await knex('operation_events').insert([
      {
        operation_id: 'op-1',
        type: 'operation.accepted',
        message: 'create requested by user:default/jane',
        data: '{"size":"s"}',
        created_at: at(0),
      },
      {
        operation_id: 'op-1',
        type: 'step.started',
        step: 'validate',
        message: 'attempt 1',
        created_at: at(1),
      },
      {
        operation_id: 'op-1',
        type: 'operation.cancel-requested',
        message: 'cancel requested by user:default/jane',
        created_at: at(2),
      },
      {
        operation_id: 'op-1',
        type: 'step.failed',
        step: 'validate',
        message: 'cancelled',
        data: '{"attempts":1}',
        created_at: at(3),
      },
      {
        operation_id: 'op-1',
        type: 'operation.cancelled',
        message: 'create cancelled',
        created_at: at(4),
      },
    ]);
    const stream = (
      type: string,
      message: string,
      data: object | null,
      s: number,
    ) => ({
      resource_ref: 'resource:default/db',
      resource_uid: 'uid-1',
      operation_id: 'op-1',
      type,
      message,
      data: data && JSON.stringify(data),
      created_at: at(s),
    });
    await knex('resource_events').insert([
      stream(
        'operation.accepted',
        'create requested by user:default/jane',
        null,
        0,
      ),
      stream(
        'state.changed',
        'PENDING → PROVISIONING: create started',
        { from: 'PENDING', to: 'PROVISIONING' },
        1,
      ),
      stream(
        'step.started',
        'create · validate: attempt 1',
        { step: 'validate' },
        1,
      ),
      stream(
        'step.failed',
        'create · validate: cancelled',
        { attempts: 1, step: 'validate' },
        3,
      ),
      stream('operation.cancelled', 'create: create cancelled', {}, 4),
    ]);
    const timeline = async () =>
      (
        await knex('operation_events')
          .where({ operation_id: 'op-1' })
          .orderBy('id')
      ).map(e => [e.type, e.step, e.message, e.data]);
    const streamed = async () =>
      (await knex('resource_events').orderBy('id')).map(e => [
        e.type,
        e.message,
        e.data,
      ]);
    const before = await timeline();
    const streamBefore = await streamed();

    await migrateUp(knex);
    expect(await knex.schema.hasTable('operation_events')).toBe(false);
    const operations = new OperationStore(knex, new ResourceEventStore(knex));
    const op = await operations.get('op-1');
    // the same timeline, with the resource's move, and the cancel request last (its new id)
    expect(
      op.timeline.map(e => [e.type, e.step ?? null, e.message, e.data ?? null]),
    ).toEqual([
      [
        'operation.accepted',
        null,
        'create requested by user:default/jane',
        { size: 's' },
      ],
      [
        'state.changed',
        null,
        'PENDING → PROVISIONING: create started',
        { from: 'PENDING', to: 'PROVISIONING' },
      ],
      ['step.started', 'validate', 'attempt 1', null],
      ['step.failed', 'validate', 'cancelled', { attempts: 1 }],
      ['operation.cancelled', null, 'create cancelled', null],
      [
        'operation.cancel-requested',
        null,
        'cancel requested by user:default/jane',
        null,
      ],
    ]);
    // the stream kept its messages, and gained the cancel request, read as new ones read
    expect(
      (await knex('resource_events').orderBy('id')).map(e => [
        e.type,
        e.message,
      ]),
    ).toEqual([
      ['operation.accepted', 'create requested by user:default/jane'],
      ['state.changed', 'PENDING → PROVISIONING: create started'],
      ['step.started', 'create · validate: attempt 1'],
      ['step.failed', 'create · validate: cancelled'],
      ['operation.cancelled', 'create: create cancelled'],
      [
        'operation.cancel-requested',
        'create: cancel requested by user:default/jane',
      ],
    ]);

    await migrateDownOne(knex, ONE_EVENT_TABLE);
    // the timeline in the order the stream has it: the cancel request last
    expect(await timeline()).toEqual([
      ...before.filter(e => e[0] !== 'operation.cancel-requested'),
      ...before.filter(e => e[0] === 'operation.cancel-requested'),
    ]);
    expect(await streamed()).toEqual(streamBefore);
  });
});

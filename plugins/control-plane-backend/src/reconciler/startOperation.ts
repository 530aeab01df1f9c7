import { ConflictError } from '@backstage/errors';
import { Knex } from 'knex';
import { isUniqueViolation } from '../database/util';
import { OperationStore } from '../operations/OperationStore';
import { ResourceRecord, ResourceStore } from '../resources/ResourceStore';
import { ReconcileOperation } from './nextOperation';

/**
 * Starts the operation the reconciler decided on, unless the resource moved on since it was
 * read or an operation is already in flight for it (started by another replica, or an API
 * call): the row is locked and compared with what was read, so a slow pass on one replica
 * cannot start a second create for a resource another has meanwhile provisioned. In the
 * caller's transaction when given one (the operation under a savepoint). Its id, or
 * `undefined` when nothing was started.
 */
export async function startOperation(
  stores: { resources: ResourceStore; operations: OperationStore },
  resource: ResourceRecord,
  operation: {
    type: ReconcileOperation | 'deploy';
    reason: string;
    /** Creates the operation (a deployment's, with its row) instead of a plain one. */
    create?(trx: Knex.Transaction): Promise<string>;
  },
  trx?: Knex.Transaction,
): Promise<string | undefined> {
  return stores.resources.whileUnchanged(
    resource,
    async locked => {
      try {
        return await locked.transaction(savepoint =>
          operation.create
            ? operation.create(savepoint)
            : stores.operations.create(
                {
                  resourceUid: resource.uid,
                  resourceRef: resource.ref,
                  type: operation.type as ReconcileOperation,
                  params: {},
                  actor: 'control-plane',
                  reason: operation.reason,
                  targetGeneration: resource.status.generation,
                },
                savepoint,
              ),
        );
      } catch (error) {
        // another replica (or an API call) started one first
        if (error instanceof ConflictError || isUniqueViolation(error)) {
          return undefined;
        }
        throw error;
      }
    },
    trx,
  );
}

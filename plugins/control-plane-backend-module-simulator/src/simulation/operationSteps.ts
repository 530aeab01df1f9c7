import {
  builtinProducts,
  OperationType,
  ownValue,
} from '@idp-multicloud/plugin-control-plane-common';
import {
  DriverCallContext,
  DriverCapabilities,
  DriverResource,
  DriverTarget,
} from '@idp-multicloud/plugin-control-plane-node';
import { Knex } from 'knex';
import { createHash, randomBytes } from 'node:crypto';
import {
  backupSizeGi,
  Claim,
  compareVersions,
  dataBytes,
  isLive,
  iso,
  simulatedFailure,
} from './logic';
import { ObjectStore } from './ObjectStore';

/** What the simulator offers: every built-in product, with all its operations. */
export const simulatorCapabilities: DriverCapabilities = {
  products: Object.keys(builtinProducts),
  operations: Object.fromEntries(
    Object.entries(builtinProducts).map(([id, spec]) => [
      id,
      [...spec.operations],
    ]),
  ),
};

/** Refuses a resource of a product the simulator does not offer. */
export function checkProduct(resource: DriverResource) {
  if (!simulatorCapabilities.products.includes(resource.product)) {
    throw simulatedFailure(
      `the simulator offers no product ${resource.product}`,
      'UnsupportedProduct',
    );
  }
}

/** Refuses an operation the resource's simulated product does not support. */
export function checkOperation(resource: DriverResource, type: OperationType) {
  if (
    !ownValue(simulatorCapabilities.operations, resource.product)?.includes(
      type,
    )
  ) {
    throw simulatedFailure(
      `the simulated ${resource.product} does not support ${type}`,
      'UnsupportedOperation',
    );
  }
}

/** Where an operation step runs: the live claim it acts on, in the call's transaction. */
export interface OperationStepScope {
  trx: Knex.Transaction;
  objects: ObjectStore;
  claim: Claim;
  resource: DriverResource;
  target: DriverTarget;
  ctx: DriverCallContext;
  now: number;
  /** How long the resource provisions again after a restore. */
  provisioningMs: number;
}

/**
 * Runs one step of an operation on a live claim: backup (`snapshot`, `verify_backup`),
 * restore (`validate_backup`, `restore_data`), failover (`promote_replica`),
 * rotate-credentials (`rotate`, `restart_consumers`), upgrade-version (`precheck`) and
 * migrate (`sync_data`). Returns the step's result; throws a non-retryable `DriverError`
 * for a step it has not, or one that cannot succeed.
 */
export async function runOperationStep(
  operation: {
    type: OperationType;
    step: string;
    params: Record<string, unknown>;
  },
  scope: OperationStepScope,
): Promise<Record<string, unknown>> {
  const { type, step, params } = operation;
  const { trx, objects, claim, resource, target, ctx, now, provisioningMs } =
    scope;
  const put = (changes: Partial<Claim>) =>
    objects.putClaim(trx, {
      ...claim,
      ...changes,
      revision: claim.revision + 1,
      updatedAt: now,
    });

  switch (`${type}/${step}`) {
    case 'backup/snapshot': {
      const backupId = `bkp-${randomBytes(6).toString('hex')}`;
      const label = typeof params.label === 'string' ? params.label : undefined;
      const sizeGi = backupSizeGi(claim.params);
      await objects.addBackup(trx, {
        id: backupId,
        ref: resource.ref,
        uid: resource.uid,
        cluster: target.cluster,
        operationId: ctx.operationId,
        label,
        sizeGi,
        createdAt: now,
      });
      return {
        backupId,
        sizeGi,
        completedAt: iso(now),
        ...(label ? { label } : {}),
      };
    }
    case 'backup/verify_backup': {
      const backup = await objects.findBackup(trx, resource.ref, {
        operationId: ctx.operationId,
      });
      if (!backup) {
        throw simulatedFailure(
          `operation ${ctx.operationId} took no backup of ${resource.ref} to verify`,
          'BackupNotFound',
        );
      }
      return {
        backupId: backup.id,
        verified: true,
        sizeGi: backup.sizeGi,
        checksum: `sha256:${createHash('sha256')
          .update(backup.id)
          .digest('hex')}`,
      };
    }
    case 'restore/validate_backup':
    case 'restore/restore_data': {
      const backupId = String(params.backupId ?? '');
      const backup = await objects.findBackup(trx, resource.ref, {
        id: backupId,
      });
      if (!backup) {
        throw simulatedFailure(
          `backup ${backupId || '(none given)'} does not exist for ${
            resource.ref
          }`,
          'BackupNotFound',
        );
      }
      if (step === 'validate_backup') {
        return {
          backupId,
          valid: true,
          sizeGi: backup.sizeGi,
          takenAt: iso(backup.createdAt),
        };
      }
      // Restoring takes the resource through provisioning again.
      await put({ readyAt: now + provisioningMs });
      return {
        backupId,
        restoredAt: iso(now),
        bytesRestored: backup.sizeGi * 1024 ** 3,
        ...(typeof params.pointInTime === 'string'
          ? { pointInTime: params.pointInTime }
          : {}),
      };
    }
    case 'failover/promote_replica': {
      const replicas = Number(claim.params.replicas ?? 0);
      if (replicas < 1 && claim.params.highAvailability !== true) {
        throw simulatedFailure(
          `${resource.ref} has no replica or standby to promote`,
          'NoReplica',
        );
      }
      const wanted =
        typeof params.targetZone === 'string' ? params.targetZone : undefined;
      if (wanted && !claim.zones.includes(wanted)) {
        throw simulatedFailure(
          `zone ${wanted} is not one of ${
            target.cluster
          }'s zones (${claim.zones.join(', ')})`,
          'UnknownZone',
        );
      }
      const previousZone = claim.primaryZone ?? claim.zones[0];
      const promotedZone =
        wanted ?? claim.zones.find(z => z !== previousZone) ?? previousZone;
      // The promoted replica is healthy, whatever ailed the old primary.
      await put({
        primaryZone: promotedZone,
        health: 'healthy',
        healthMessage: undefined,
        healthChangedAt: now,
      });
      return { promotedZone, previousZone, promotedAt: iso(now) };
    }
    case 'rotate-credentials/rotate': {
      const secretVersion = claim.secretVersion + 1;
      await put({ secretVersion });
      return { secretVersion, rotatedAt: iso(now) };
    }
    case 'rotate-credentials/restart_consumers':
      return {
        secretVersion: claim.secretVersion,
        restartedAt: iso(now),
      };
    case 'upgrade-version/precheck': {
      const to = String(params.version ?? '');
      if (!to) throw simulatedFailure('precheck needs params.version');
      if ((compareVersions(to, claim.version) ?? 0) < 0) {
        throw simulatedFailure(
          `cannot downgrade ${resource.ref} from ${claim.version} to ${to}`,
          'Downgrade',
        );
      }
      return { compatible: true, from: claim.version, to };
    }
    case 'migrate/sync_data': {
      const source = params.source as { cluster?: string } | undefined;
      if (!source?.cluster) {
        throw simulatedFailure('sync_data needs params.source.cluster');
      }
      const from = await objects.getClaim(trx, source.cluster, resource.uid);
      if (!from || !isLive(from, now)) {
        throw simulatedFailure(
          `${resource.ref} does not run on ${source.cluster}: nothing to copy`,
          'NotFound',
        );
      }
      return {
        bytesCopied: dataBytes(from.params),
        source: source.cluster,
        target: target.cluster,
        completedAt: iso(now),
      };
    }
    default:
      throw simulatedFailure(
        `the simulator has no step ${step} for ${type}`,
        'UnsupportedOperation',
      );
  }
}

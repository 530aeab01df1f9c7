import { ResourceState } from '@idp-multicloud/plugin-control-plane-common';
import { DateTime } from 'luxon';
import {
  nextOperation,
  NextOperation,
  ReconcileFacts,
  ReconcileSubject,
} from './nextOperation';

const NOW = DateTime.fromISO('2026-12-07T09:00:00Z', { zone: 'utc' });
const secondsAgo = (s: number) => NOW.minus({ seconds: s }).toISO()!;

const DB = 'resource:default/orders-db';
const CACHE = 'resource:default/orders-cache';

const resource = (
  state: ResourceState,
  over: Partial<ReconcileSubject> = {},
): ReconcileSubject => ({
  state,
  generation: 1,
  observedGeneration: 0,
  dependsOn: [],
  ...over,
});

const facts = (
  subject: ReconcileSubject,
  over: Partial<Omit<ReconcileFacts, 'resource'>> = {},
): ReconcileFacts => ({
  resource: subject,
  dependencies: new Map(),
  dependents: [],
  now: NOW,
  ...over,
});

/** A READY resource at generation 3 running 2: a new desired spec to roll out. */
const changed = (over: Partial<ReconcileSubject> = {}) =>
  resource('READY', { generation: 3, observedGeneration: 2, ...over });

describe('nextOperation', () => {
  it.each<[string, ReconcileFacts, NextOperation]>([
    [
      'creates a requested resource that depends on nothing',
      facts(resource('PENDING')),
      { action: 'create', reason: 'requested' },
    ],
    [
      'creates a requested resource once what it depends on is READY',
      facts(resource('PENDING', { dependsOn: [DB, CACHE] }), {
        dependencies: new Map<string, ResourceState>([
          [DB, 'READY'],
          [CACHE, 'READY'],
        ]),
      }),
      { action: 'create', reason: 'requested' },
    ],
    [
      'waits for a dependency still provisioning, and one not there at all',
      facts(resource('PENDING', { dependsOn: [DB, CACHE] }), {
        dependencies: new Map<string, ResourceState>([[DB, 'PROVISIONING']]),
      }),
      {
        action: 'wait',
        reason: `waiting for ${DB} (PROVISIONING), ${CACHE} (absent)`,
      },
    ],
    [
      'waits for a DEGRADED dependency: only READY counts',
      facts(resource('PENDING', { dependsOn: [DB] }), {
        dependencies: new Map<string, ResourceState>([[DB, 'DEGRADED']]),
      }),
      { action: 'wait', reason: `waiting for ${DB} (DEGRADED)` },
    ],
    [
      'deletes a resource removed from the desired state that nothing depends on',
      facts(resource('DELETING', { observedGeneration: 1 })),
      { action: 'delete', reason: 'removed from the desired state' },
    ],
    [
      'keeps a resource being deleted while live resources depend on it',
      facts(resource('DELETING', { observedGeneration: 1 }), {
        dependents: ['resource:default/orders-api', 'resource:team/reports'],
      }),
      {
        action: 'wait',
        reason:
          'still depended on by resource:default/orders-api, resource:team/reports',
      },
    ],
    [
      'updates a READY resource whose desired generation is ahead',
      facts(changed()),
      {
        action: 'update',
        reason: 'generation 3 differs from the running 2',
      },
    ],
    [
      'updates a DEGRADED one the same way',
      facts(changed({ state: 'DEGRADED' })),
      {
        action: 'update',
        reason: 'generation 3 differs from the running 2',
      },
    ],
    [
      'does nothing for a READY resource running its desired generation',
      facts(resource('READY', { generation: 2, observedGeneration: 2 })),
      { action: 'nothing', reason: 'generation 2 is running' },
    ],
    [
      'does not try again a generation whose update failed',
      facts(changed({ failedGeneration: 3 })),
      {
        action: 'nothing',
        reason: 'generation 3 failed; a retry or a new generation tries again',
      },
    ],
    [
      'updates a generation newer than the one that failed',
      facts(changed({ failedGeneration: 2 })),
      {
        action: 'update',
        reason: 'generation 3 differs from the running 2',
      },
    ],
    [
      'leaves a generation a scale committed moments ago to the scale',
      facts(
        changed({
          desiredBy: { action: 'resource.scale', indexedAt: secondsAgo(2) },
        }),
      ),
      {
        action: 'wait',
        reason:
          'generation 3 was committed by resource.scale 2s ago: its operation brings it about',
      },
    ],
    [
      'and one an upgrade-version committed',
      facts(
        changed({
          desiredBy: {
            action: 'resource.upgrade-version',
            indexedAt: secondsAgo(29),
          },
        }),
      ),
      {
        action: 'wait',
        reason:
          'generation 3 was committed by resource.upgrade-version 29s ago: its operation brings it about',
      },
    ],
    [
      'updates a generation an operation request committed once the grace period is over (its operation never came)',
      facts(
        changed({
          desiredBy: { action: 'resource.migrate', indexedAt: secondsAgo(30) },
        }),
      ),
      {
        action: 'update',
        reason: 'generation 3 differs from the running 2',
      },
    ],
    [
      'updates at once a generation an ordinary change committed',
      facts(
        changed({
          desiredBy: { action: 'resource.update', indexedAt: secondsAgo(1) },
        }),
      ),
      {
        action: 'update',
        reason: 'generation 3 differs from the running 2',
      },
    ],
    [
      'creates again a FAILED resource given a new generation',
      facts(
        resource('FAILED', {
          generation: 2,
          observedGeneration: 0,
          failedGeneration: 1,
        }),
      ),
      { action: 'create', reason: 'generation 2 asked for' },
    ],
    [
      'creates a FAILED one at once even when an operation request committed its generation',
      facts(
        resource('FAILED', {
          generation: 2,
          failedGeneration: 1,
          desiredBy: { action: 'resource.scale', indexedAt: secondsAgo(1) },
        }),
      ),
      { action: 'create', reason: 'generation 2 asked for' },
    ],
    [
      'leaves a FAILED resource alone until its generation changes',
      facts(resource('FAILED', { generation: 2, failedGeneration: 2 })),
      {
        action: 'nothing',
        reason: 'generation 2 failed; a retry or a new generation tries again',
      },
    ],
    [
      'a FAILED resource with a new generation still waits for its dependencies',
      facts(
        resource('FAILED', {
          generation: 2,
          failedGeneration: 1,
          dependsOn: [DB],
        }),
      ),
      { action: 'wait', reason: `waiting for ${DB} (absent)` },
    ],
    [
      'leaves a resource an operation is moving alone',
      facts(resource('PROVISIONING')),
      { action: 'nothing', reason: 'PROVISIONING: an operation moves it' },
    ],
  ])('%s', (_name, input, expected) => {
    expect(nextOperation(input)).toEqual(expected);
  });
});

/*
 * What Argo CD and Flux say of the objects rendered for one resource, as one verdict. Pure.
 */
import { DeliveryStatus } from '@idp-multicloud/plugin-control-plane-node';
import { ArgoApplication } from './ArgoCdClient';
import { HOLD_ANNOTATION } from './bootstrap';
import { RenderedObject } from './render';

/** An object's group (empty for the core group) from its apiVersion. */
const groupOf = (apiVersion: string) =>
  apiVersion.includes('/') ? apiVersion.split('/')[0] : '';

/** Argo CD's health statuses, worst first. */
const healthOrder = [
  'Degraded',
  'Missing',
  'Unknown',
  'Progressing',
  'Suspended',
  'Healthy',
];

function worstHealth(statuses: string[]): string {
  let worst = 'Healthy';
  for (const s of statuses) {
    const rank = healthOrder.indexOf(s);
    if (rank >= 0 && rank < healthOrder.indexOf(worst)) worst = s;
  }
  return worst;
}

/**
 * The verdict of an Argo CD Application on a resource's objects: each must be listed in
 * `status.resources` as `Synced`, and those Argo CD assesses the health of must be `Healthy`.
 * An object Argo CD does not list yet (it has not seen the commit that adds it) is out of
 * sync.
 */
export function argoVerdict(
  app: ArgoApplication,
  objects: RenderedObject[],
): DeliveryStatus {
  const listed = app.status?.resources ?? [];
  const held =
    Boolean(app.metadata.annotations?.[HOLD_ANNOTATION]) ||
    !app.spec?.syncPolicy?.automated;
  const base = {
    tool: 'argocd',
    application: app.metadata.name,
    revision: app.status?.sync?.revision,
    held,
  };
  const missing: string[] = [];
  const outOfSync: string[] = [];
  const health: string[] = [];
  const messages: string[] = [];
  for (const object of objects) {
    const found = listed.find(
      r =>
        (r.group ?? '') === groupOf(object.apiVersion) &&
        r.kind === object.kind &&
        r.name === object.metadata.name &&
        (r.namespace ?? '') === object.metadata.namespace,
    );
    const id = `${object.kind} ${object.metadata.namespace}/${object.metadata.name}`;
    if (!found) {
      missing.push(id);
      continue;
    }
    if (found.status !== 'Synced') outOfSync.push(id);
    if (found.health?.status) {
      health.push(found.health.status);
      if (found.health.status !== 'Healthy' && found.health.message) {
        messages.push(`${id}: ${found.health.message}`);
      }
    }
  }
  const sync =
    missing.length > 0 || outOfSync.length > 0 ? 'OutOfSync' : 'Synced';
  const worst = missing.length > 0 ? 'Missing' : worstHealth(health);
  const why = [
    ...(missing.length ? [`not yet applied: ${missing.join(', ')}`] : []),
    ...(outOfSync.length ? [`out of sync: ${outOfSync.join(', ')}`] : []),
    ...messages,
    ...(sync !== 'Synced' && app.status?.operationState?.message
      ? [app.status.operationState.message]
      : []),
  ];
  return {
    ...base,
    sync,
    health: worst,
    inSync: sync === 'Synced' && worst === 'Healthy',
    ...(why.length ? { message: why.join('; ') } : {}),
  };
}

/** A Flux Kustomization, as far as the control plane reads it. */
export interface FluxKustomization {
  metadata: {
    name: string;
    namespace?: string;
    annotations?: Record<string, string>;
  };
  spec?: { suspend?: boolean };
  status?: {
    conditions?: Array<{
      type: string;
      status: string;
      reason?: string;
      message?: string;
    }>;
    lastAppliedRevision?: string;
    inventory?: { entries?: Array<{ id: string; v?: string }> };
  };
}

/** An object's id in a Kustomization's inventory: `<namespace>_<name>_<group>_<kind>`. */
export const inventoryId = (object: RenderedObject) =>
  `${object.metadata.namespace}_${object.metadata.name}_${groupOf(
    object.apiVersion,
  )}_${object.kind}`;

/**
 * The verdict of a Flux Kustomization on a resource's objects: its `Ready` condition (with
 * `wait`, Ready means applied and healthy), and each object in its inventory (an object not
 * there was not applied yet).
 */
export function fluxVerdict(
  kustomization: FluxKustomization,
  objects: RenderedObject[],
): DeliveryStatus {
  const ready = kustomization.status?.conditions?.find(c => c.type === 'Ready');
  const inventory = new Set(
    (kustomization.status?.inventory?.entries ?? []).map(e => e.id),
  );
  const missing = objects
    .filter(o => !inventory.has(inventoryId(o)))
    .map(o => `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`);
  const base = {
    tool: 'flux',
    application: `${kustomization.metadata.namespace ?? 'flux-system'}/${
      kustomization.metadata.name
    }`,
    revision: kustomization.status?.lastAppliedRevision,
    held: kustomization.spec?.suspend === true,
  };
  if (ready?.status === 'True' && missing.length === 0) {
    return {
      ...base,
      sync: 'Synced',
      health: 'Healthy',
      inSync: true,
      ...(ready.message ? { message: ready.message } : {}),
    };
  }
  const progressing =
    !ready ||
    ready.status === 'True' || // Ready, but from a revision without these objects yet
    ready.status === 'Unknown' ||
    ready.reason === 'Progressing' ||
    ready.reason === 'DependencyNotReady';
  const why = [
    ...(ready?.status === 'False'
      ? [`Ready=False (${ready.reason ?? 'no reason'}): ${ready.message ?? ''}`]
      : []),
    ...(missing.length ? [`not yet applied: ${missing.join(', ')}`] : []),
    ...(!ready ? ['no Ready condition yet'] : []),
  ];
  return {
    ...base,
    sync:
      ready?.status === 'True' || ready?.status === 'False'
        ? 'OutOfSync'
        : 'Unknown',
    health: progressing ? 'Progressing' : 'Degraded',
    inSync: false,
    message: why.join('; ').trim(),
  };
}

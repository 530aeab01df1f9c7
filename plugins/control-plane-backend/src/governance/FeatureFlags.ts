import { NotFoundError } from '@backstage/errors';
import {
  FeatureFlag,
  featureFlagDefinitions,
  FeatureFlagName,
  featureFlagScopeSchema,
  hasOwnKey,
  setFeatureFlagRequestSchema,
} from '@idp-multicloud/plugin-control-plane-common';
import { Knex } from 'knex';
import { z } from 'zod';
import { now, readTimestamp } from '../database/time';

/** Where a flag's value applies. */
export type FlagScope = z.infer<typeof featureFlagScopeSchema>;

/** A scope as the `feature_flags` table keys it: `global`, `cell:x`, `tier:y`, `cell:x/tier:y`. */
export function scopeKey(scope: FlagScope): string {
  const parts = [
    ...(scope.cell ? [`cell:${scope.cell}`] : []),
    ...(scope.tier ? [`tier:${scope.tier}`] : []),
  ];
  return parts.length ? parts.join('/') : 'global';
}

function scopeOf(key: string): FlagScope {
  const scope: FlagScope = {};
  if (key === 'global') return scope;
  for (const part of key.split('/')) {
    const [kind, value] = part.split(':');
    if (kind === 'cell') scope.cell = value;
    if (kind === 'tier') scope.tier = value as FlagScope['tier'];
  }
  return scope;
}

/**
 * The value of a flag for a cell and tier, from the values set per scope: the most specific
 * wins (cell and tier, then cell, then tier, then global); undefined when no scope sets it.
 * Pure.
 */
export function resolveFlag(
  values: ReadonlyMap<string, boolean>,
  at: { cell?: string; tier?: string },
): boolean | undefined {
  const candidates = [
    ...(at.cell && at.tier ? [`cell:${at.cell}/tier:${at.tier}`] : []),
    ...(at.cell ? [`cell:${at.cell}`] : []),
    ...(at.tier ? [`tier:${at.tier}`] : []),
    'global',
  ];
  for (const key of candidates) {
    const value = values.get(key);
    if (value !== undefined) return value;
  }
  return undefined;
}

function nameOf(name: string): FeatureFlagName {
  if (!hasOwnKey(featureFlagDefinitions, name)) {
    throw new NotFoundError(
      `No feature flag ${name} (known: ${Object.keys(
        featureFlagDefinitions,
      ).join(', ')})`,
    );
  }
  return name;
}

/**
 * Feature flags of platform behaviour, set by platform engineers through the API and kept in
 * the database: every replica reads them (cached for a second), so a change takes effect
 * without a restart.
 */
export class FeatureFlags {
  private cache?: { at: number; values: Map<string, Map<string, boolean>> };

  constructor(private readonly db: Knex) {}

  private async values(): Promise<Map<string, Map<string, boolean>>> {
    if (this.cache && Date.now() - this.cache.at < 1000) {
      return this.cache.values;
    }
    const values = new Map<string, Map<string, boolean>>();
    for (const row of await this.db('feature_flags').select(
      'name',
      'scope',
      'value',
    )) {
      const byScope = values.get(row.name) ?? new Map<string, boolean>();
      byScope.set(row.scope, JSON.parse(row.value) === true);
      values.set(row.name, byScope);
    }
    this.cache = { at: Date.now(), values };
    return values;
  }

  /** A flag's value for a cell and tier: the most specific set, else its default. */
  async evaluate(
    name: FeatureFlagName,
    at: { cell?: string; tier?: string },
  ): Promise<boolean> {
    return (
      (await this.lookup(name, at)) ?? featureFlagDefinitions[name].default
    );
  }

  /** A flag's value for a cell and tier, when some scope sets one. */
  async lookup(
    name: FeatureFlagName,
    at: { cell?: string; tier?: string },
  ): Promise<boolean | undefined> {
    return resolveFlag((await this.values()).get(name) ?? new Map(), at);
  }

  /** Every flag with the values set for it. */
  async list(): Promise<FeatureFlag[]> {
    const rows = await this.db('feature_flags').orderBy([
      { column: 'name' },
      { column: 'scope' },
    ]);
    return (Object.keys(featureFlagDefinitions) as FeatureFlagName[]).map(
      name =>
        this.describe(
          name,
          rows.filter(r => r.name === name),
        ),
    );
  }

  async get(name: string): Promise<FeatureFlag> {
    const flag = nameOf(name);
    return this.describe(
      flag,
      await this.db('feature_flags').where({ name: flag }).orderBy('scope'),
    );
  }

  private describe(name: FeatureFlagName, rows: any[]): FeatureFlag {
    const definition = featureFlagDefinitions[name];
    return {
      name,
      description: definition.description,
      default: definition.default,
      values: rows.map(r => ({
        scope: scopeOf(r.scope),
        value: JSON.parse(r.value) === true,
        updatedBy: r.updated_by,
        updatedAt: readTimestamp(r.updated_at),
      })),
    };
  }

  /** A set request (its body parsed by the API), for a flag that exists: else a 404. */
  parseSet(name: string, body: z.output<typeof setFeatureFlagRequestSchema>) {
    return { name: nameOf(name), scope: body.scope ?? {}, value: body.value };
  }

  /** An unset request (its scope parsed by the API), for a flag that exists: else a 404. */
  parseUnset(name: string, scope: z.output<typeof featureFlagScopeSchema>) {
    return { name: nameOf(name), scope };
  }

  async set(
    request: { name: FeatureFlagName; scope: FlagScope; value: boolean },
    actor: string,
  ): Promise<FeatureFlag> {
    await this.db('feature_flags')
      .insert({
        name: request.name,
        scope: scopeKey(request.scope),
        value: JSON.stringify(request.value),
        updated_by: actor,
        updated_at: now(),
      })
      .onConflict(['name', 'scope'])
      .merge();
    this.cache = undefined;
    return this.get(request.name);
  }

  /** Removes the value of a scope; the next more general one applies again. */
  async unset(request: {
    name: FeatureFlagName;
    scope: FlagScope;
  }): Promise<{ flag: FeatureFlag; removed: boolean }> {
    const removed = await this.db('feature_flags')
      .where({ name: request.name, scope: scopeKey(request.scope) })
      .delete();
    this.cache = undefined;
    return { flag: await this.get(request.name), removed: removed > 0 };
  }
}

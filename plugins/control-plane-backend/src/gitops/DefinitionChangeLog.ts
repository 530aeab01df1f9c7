import { LoggerService } from '@backstage/backend-plugin-api';
import { NotFoundError } from '@backstage/errors';
import { Knex } from 'knex';
import { now } from '../database/time';
import { readJson } from '../database/util';
import { DefinitionFinding } from './definitionChanges';
import { DefinitionImpact } from './migrationGuide';

type Row = {
  id: string;
  product: string;
  commit_sha: string;
  actor: string;
  findings: string;
  affected: string;
  guide: string;
  created_at: string;
  notified_at: string | null;
};

/** A breaking change of a product definition, as applied. */
export interface DefinitionChange {
  id: string;
  product: string;
  commit: string;
  actor: string;
  findings: DefinitionFinding[];
  affected: DefinitionImpact['affected'];
  guide: string;
  createdAt: string;
  /** When the affected owners were notified. */
  notifiedAt?: string;
}

/** A notification to the owners a breaking change affects (Backstage notifications). */
export interface DefinitionChangeNotice {
  /** Catalog entity refs: the owner groups (their members are notified). */
  recipients: string[];
  title: string;
  description: string;
  /** Where the migration guide is, in the Backstage app. */
  link: string;
}

const toChange = (row: Row): DefinitionChange => ({
  id: row.id,
  product: row.product,
  commit: row.commit_sha,
  actor: row.actor,
  findings: readJson(row.findings, []),
  affected: readJson(row.affected, {
    resources: [],
    projects: [],
    components: [],
    owners: [],
  }),
  guide: row.guide,
  createdAt: row.created_at,
  ...(row.notified_at ? { notifiedAt: row.notified_at } : {}),
});

/**
 * The breaking changes of product definitions that were applied (the indexer writes them
 * with the commit that made them), and the notification of their affected owners: an
 * outbox, delivered after each sync and at start, each change claimed by one replica.
 */
export class DefinitionChangeLog {
  constructor(
    private readonly options: {
      db: Knex;
      logger: LoggerService;
      /** Sends a notification; none installed: changes are recorded, nobody is told. */
      notify?: (notice: DefinitionChangeNotice) => Promise<void>;
    },
  ) {}

  async list(query: {
    product?: string;
    limit: number;
  }): Promise<DefinitionChange[]> {
    const rows = await this.options
      .db<Row>('definition_changes')
      .modify(q => {
        if (query.product) q.where({ product: query.product });
      })
      .orderBy([
        { column: 'created_at', order: 'desc' },
        { column: 'id', order: 'desc' },
      ])
      .limit(query.limit);
    return rows.map(toChange);
  }

  async get(id: string): Promise<DefinitionChange> {
    const row = await this.options
      .db<Row>('definition_changes')
      .where({ id })
      .first();
    if (!row) throw new NotFoundError(`No definition change ${id}`);
    return toChange(row);
  }

  /** Notifies the owners of every change not notified yet; returns how many were sent. */
  async deliver(): Promise<number> {
    const { db, notify, logger } = this.options;
    if (!notify) return 0;
    const pending = await db<Row>('definition_changes')
      .whereNull('notified_at')
      .orderBy('created_at')
      .limit(50);
    let sent = 0;
    for (const row of pending) {
      // claim it: one replica notifies (at most once)
      const claimed = await db<Row>('definition_changes')
        .where({ id: row.id })
        .whereNull('notified_at')
        .update({ notified_at: now() });
      if (claimed !== 1) continue;
      const change = toChange(row);
      if (change.affected.owners.length === 0) continue;
      const breaking = change.findings.filter(f => f.breaking);
      try {
        await notify({
          recipients: change.affected.owners,
          title: `Breaking change of product ${change.product}: ${
            change.affected.resources.length
          } of your resource${
            change.affected.resources.length === 1 ? '' : 's'
          } affected`,
          description: `${breaking
            .map(f => `${f.code} ${f.subject}`)
            .join('; ')} (commit ${change.commit.slice(0, 12)} by ${
            change.actor
          }). The migration guide says what to do.`,
          link: `/control-plane/definition-changes?id=${change.id}`,
        });
        sent++;
      } catch (error) {
        // retried at the next delivery
        await db<Row>('definition_changes')
          .where({ id: row.id })
          .update({ notified_at: null });
        logger.warn(
          `could not notify the owners of the breaking change ${change.id} of ${change.product}: ${error}`,
        );
      }
    }
    return sent;
  }
}

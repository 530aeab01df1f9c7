import {
  BackstageCredentials,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import { NotAllowedError } from '@backstage/errors';
import {
  AuthorizeResult,
  BasicPermission,
  ConditionalPolicyDecision,
  PermissionCriteria,
  ResourcePermission,
} from '@backstage/plugin-permission-common';
import {
  createConditionAuthorizer,
  createConditionTransformer,
  PermissionRuleset,
} from '@backstage/plugin-permission-node';
import {
  CONTROL_PLANE_RESOURCE_TYPE,
  resourceReadPermission,
} from '@idp-multicloud/plugin-control-plane-common';
import {
  ControlPlaneResourceFacts,
  ControlPlaneResourceQuery,
} from '@idp-multicloud/plugin-control-plane-node';
import { Knex } from 'knex';
import { noSuchResource, ResourceView } from './ResourceView';

type ResourcePermissionOf = ResourcePermission<
  typeof CONTROL_PLANE_RESOURCE_TYPE
>;

export { factsOf } from './ResourceView';

function applyCriteria(
  qb: Knex.QueryBuilder,
  criteria: PermissionCriteria<ControlPlaneResourceQuery>,
): void {
  if ('allOf' in criteria) {
    qb.where(inner => {
      for (const c of criteria.allOf)
        inner.andWhere(sub => applyCriteria(sub, c));
    });
  } else if ('anyOf' in criteria) {
    qb.where(inner => {
      for (const c of criteria.anyOf)
        inner.orWhere(sub => applyCriteria(sub, c));
    });
  } else if ('not' in criteria) {
    qb.whereNot(inner => applyCriteria(inner, criteria.not));
  } else if (criteria.values.length === 0) {
    qb.whereRaw('1 = 0');
  } else {
    qb.whereIn(criteria.column, criteria.values);
  }
}

/**
 * Authorizes requests through the permission framework. Conditional decisions about a
 * resource are evaluated here against the resource (or the resource a request would
 * create), and turned into SQL for listings.
 */
export class ResourceAuthorizer {
  private readonly isAllowed: (
    decision: any,
    resource: ControlPlaneResourceFacts,
  ) => boolean;
  private readonly toQuery: (
    conditions: any,
  ) => PermissionCriteria<ControlPlaneResourceQuery>;

  constructor(
    private readonly permissions: PermissionsService,
    ruleset: PermissionRuleset<
      ControlPlaneResourceFacts,
      ControlPlaneResourceQuery
    >,
  ) {
    this.isAllowed = createConditionAuthorizer(ruleset as any);
    this.toQuery = createConditionTransformer(ruleset);
  }

  /**
   * Authorizes `permission` on `existing` resources and on `proposed` ones (what a request
   * would create or turn a resource into). An existing resource the caller cannot read
   * does not exist for it: NotFoundError, as for a missing one. Otherwise NotAllowedError
   * unless `credentials` may do `permission` on every resource (naming only readable ones).
   */
  async authorizeResources(
    credentials: BackstageCredentials,
    permission: ResourcePermissionOf,
    existing: ControlPlaneResourceFacts[],
    proposed: ControlPlaneResourceFacts[] = [],
  ): Promise<void> {
    const [decision, read] = await this.permissions.authorizeConditional(
      [{ permission }, { permission: resourceReadPermission }],
      { credentials },
    );
    const unreadable = existing.find(r => !this.allows(read, r));
    if (unreadable) throw noSuchResource(unreadable.ref);
    const denied = [...existing, ...proposed].filter(
      r => !this.allows(decision, r),
    );
    if (denied.length > 0) {
      throw new NotAllowedError(
        `${permission.name} is not allowed on ${denied
          .map(r => r.ref)
          .join(', ')}`,
      );
    }
  }

  /**
   * The resources as `credentials` see them (one decision of `control-plane.resource.read`):
   * the one check of every reference a request makes and every name a message surfaces.
   */
  async view(credentials: BackstageCredentials): Promise<ResourceView> {
    const { all, allows } = await this.predicate(
      credentials,
      resourceReadPermission,
    );
    return all ? ResourceView.everything : new ResourceView(allows, false);
  }

  private allows(
    decision: { result: AuthorizeResult },
    resource: ControlPlaneResourceFacts,
  ): boolean {
    if (decision.result === AuthorizeResult.ALLOW) return true;
    if (decision.result === AuthorizeResult.DENY) return false;
    return this.isAllowed(decision, resource);
  }

  /**
   * Like {@link authorizeResources} for a resource whose facts are gone (its row was
   * removed): only an unconditional ALLOW lets the request through, since no condition can
   * be checked.
   */
  async authorizeWithoutFacts(
    credentials: BackstageCredentials,
    permission: ResourcePermissionOf,
    ref: string,
  ): Promise<void> {
    const [decision] = await this.permissions.authorizeConditional(
      [{ permission }],
      { credentials },
    );
    if (decision.result !== AuthorizeResult.ALLOW) {
      throw new NotAllowedError(`${permission.name} is not allowed on ${ref}`);
    }
  }

  /**
   * One decision about a resource permission, as a predicate over resources (for filtering
   * what a report shows): `all` when everything is allowed.
   */
  async predicate(
    credentials: BackstageCredentials,
    permission: ResourcePermissionOf,
  ): Promise<{
    all: boolean;
    allows: (resource: ControlPlaneResourceFacts) => boolean;
  }> {
    const [decision] = await this.permissions.authorizeConditional(
      [{ permission }],
      { credentials },
    );
    if (decision.result === AuthorizeResult.ALLOW) {
      return { all: true, allows: () => true };
    }
    if (decision.result === AuthorizeResult.DENY) {
      return { all: false, allows: () => false };
    }
    return { all: false, allows: r => this.isAllowed(decision, r) };
  }

  /** Throws NotAllowedError unless `credentials` hold a basic permission. */
  async authorize(
    credentials: BackstageCredentials,
    permission: BasicPermission,
  ): Promise<void> {
    const [decision] = await this.permissions.authorize([{ permission }], {
      credentials,
    });
    if (decision.result !== AuthorizeResult.ALLOW) {
      throw new NotAllowedError(`${permission.name} is not allowed`);
    }
  }

  /**
   * The listing restriction of a resource permission: `undefined` when everything is allowed,
   * otherwise a knex `where` callback (matching nothing when denied).
   */
  async listRestriction(
    credentials: BackstageCredentials,
    permission: ResourcePermissionOf,
  ): Promise<((qb: Knex.QueryBuilder) => void) | undefined> {
    const [decision] = await this.permissions.authorizeConditional(
      [{ permission }],
      {
        credentials,
      },
    );
    if (decision.result === AuthorizeResult.ALLOW) return undefined;
    if (decision.result === AuthorizeResult.DENY)
      return qb => void qb.whereRaw('1 = 0');
    const criteria = this.toQuery(
      (decision as ConditionalPolicyDecision).conditions,
    );
    return qb => applyCriteria(qb, criteria);
  }
}

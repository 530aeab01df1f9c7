import { z } from 'zod';
import { resourceRefSchema } from '../model/names';

/**
 * A change's commit SHA, full or abbreviated (7 to 40 hexadecimal characters).
 * @public
 */
export const changeShaSchema = z
  .string()
  .regex(
    /^[0-9a-f]{7,40}$/,
    'must be a commit SHA: 7 to 40 lowercase hexadecimal characters',
  );

/**
 * `POST /changes/{sha}/revert` path.
 * @public
 */
export const changeParamsSchema = z.object({ sha: changeShaSchema });

/**
 * What a change did to one object of the desired state.
 * @public
 */
export const changedObjectSchema = z.object({
  kind: z.string(),
  ref: z.string().describe('resource:<namespace>/<name>, or <kind>:<name>'),
  action: z.enum(['create', 'update', 'delete']),
});

/**
 * One change of the state repository: a commit.
 * @public
 */
export const changeSchema = z
  .object({
    sha: z.string(),
    subject: z.string().describe("the commit message's first line"),
    actor: z
      .string()
      .describe(
        'the caller the control plane made the commit for, or git:<name> <email> for a commit pushed by hand',
      ),
    verified: z
      .boolean()
      .describe('the control plane made (signed) the commit'),
    date: z.string(),
    action: z
      .string()
      .optional()
      .describe('the API action of a commit the control plane made'),
    objects: z
      .array(changedObjectSchema)
      .describe('what the change did to the objects asked about'),
  })
  .meta({ id: 'Change' });

/**
 * One change of the state repository.
 * @public
 */
export type Change = z.infer<typeof changeSchema>;

/**
 * `GET /changes` query.
 * @public
 */
export const listChangesQuerySchema = z.object({
  resource: resourceRefSchema.describe('the resource whose changes to list'),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

/**
 * `GET /changes`: a resource's changes, newest first.
 * @public
 */
export const changeListSchema = z
  .object({ items: z.array(changeSchema) })
  .meta({ id: 'ChangeList' });

/**
 * `POST /changes/{sha}/revert`: the revert commit and what it did.
 * @public
 */
export const changeRevertSchema = z
  .object({
    reverted: z.string().describe('the full SHA of the change reverted'),
    commit: z
      .string()
      .optional()
      .describe(
        'the revert commit; absent when the desired state already was what the revert asks for',
      ),
    objects: z
      .array(changedObjectSchema)
      .describe(
        'what the revert does to each object: a create reverted deletes, a delete reverted re-creates, an update reverted restores',
      ),
  })
  .meta({ id: 'ChangeRevert' });

/**
 * The answer to a revert.
 * @public
 */
export type ChangeRevert = z.infer<typeof changeRevertSchema>;

/**
 * `POST /changes/proposals` and `GET /changes/proposals/{id}`: a change proposed for review
 * as a pull request, and where it stands.
 * @public
 */
export const changeProposalSchema = z
  .object({
    id: z.string().describe('the change id to follow'),
    actor: z.string(),
    title: z.string(),
    status: z
      .enum(['awaiting-approval', 'merged', 'applied', 'closed'])
      .describe(
        'Awaiting approval → Merged → Applied (indexed from the main branch), or Closed',
      ),
    branch: z.string(),
    commit: z.string().describe('the commit of the change, on its branch'),
    pullRequest: z
      .object({ number: z.number().int(), url: z.string() })
      .optional(),
    approvers: z.array(z.string()),
    mergeCommit: z.string().optional(),
    objects: z.array(
      z.object({
        kind: z.string(),
        ref: z.string(),
        namespace: z.string(),
        action: z.enum(['create', 'update', 'delete', 'unchanged']),
        tier: z.string().optional(),
        owner: z.string().optional(),
        cell: z.string().optional(),
      }),
    ),
    plan: z.string().describe('the plan, as the pull request comment shows it'),
    requiredApprovals: z
      .array(
        z.object({
          kind: z.string().describe('breaking, versionBump or config'),
          project: z.string(),
          groups: z.array(z.string()),
        }),
      )
      .optional()
      .describe(
        "approvals the projects' own policies ask: one from a member of each group",
      ),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'ChangeProposal' });

/**
 * A change proposed for review.
 * @public
 */
export type ChangeProposal = z.infer<typeof changeProposalSchema>;

/**
 * The answer of a write whose change needs review: instead of committing it to the main
 * branch, the control plane proposed it as a pull request (202).
 * @public
 */
export const reviewProposedSchema = z
  .object({ proposal: changeProposalSchema })
  .meta({ id: 'ReviewProposed' });

/**
 * The answer of a write proposed for review.
 * @public
 */
export type ReviewProposed = z.infer<typeof reviewProposedSchema>;

/**
 * `GET /changes/proposals/{id}` path.
 * @public
 */
export const changeProposalParamsSchema = z.object({ id: z.uuid() });

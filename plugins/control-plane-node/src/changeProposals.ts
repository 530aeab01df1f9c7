import { createExtensionPoint } from '@backstage/backend-plugin-api';

/**
 * One object a proposed change touches, as review rules decide on it.
 * @public
 */
export interface ProposedObject {
  kind: string;
  /** resource:<namespace>/<name>, or <kind>:<name> */
  ref: string;
  namespace: string;
  action: 'create' | 'update' | 'delete' | 'unchanged';
  /** Resources: their tier and owner (after the change, or before a deletion). */
  tier?: string;
  owner?: string;
  cell?: string;
}

/**
 * A change the control plane validated, planned and wrote as a commit on a branch of the
 * state repository's remote, for a person to review before it reaches the main branch.
 * @public
 */
export interface ProposedChange {
  /** The change id the API, CLI and UI follow. */
  id: string;
  /** Who asked for it (a catalog entity ref). */
  actor: string;
  /** The commit's first line: the pull request's title. */
  title: string;
  /** The branch pushed to the remote, holding `commit`. */
  branch: string;
  /** The branch the change is for (the state repository's main branch). */
  baseBranch: string;
  commit: string;
  objects: ProposedObject[];
  /** The plan as Markdown: diff of desired state, cost before and after, policy verdicts. */
  plan: string;
  /**
   * Approvals the projects' own policies ask of this change (their Project manifests'
   * `approvals`): for each, one approval from a member of each group (catalog refs).
   */
  approvals?: { kind: string; project: string; groups: string[] }[];
}

/**
 * What became of a proposed change's pull request.
 * @public
 */
export interface ChangeProposalState {
  state: 'awaiting-approval' | 'merged' | 'closed';
  /** Who approved it (reviews), as the review host names them. */
  approvers: string[];
  /** The merge commit on the main branch, once merged. */
  mergeCommit?: string;
}

/**
 * Where changes that need review go: a pull request host (GitHub). The control plane writes
 * the change as a commit on a branch of the state repository's remote, then asks the
 * proposer to open the pull request; it follows it until merged (then indexes the main
 * branch and the change is applied) or closed.
 * @public
 */
export interface ChangeProposer {
  /** Whether a change of these objects by `actor` must be reviewed (configuration, policy). */
  requiresReview(change: { actor: string; objects: ProposedObject[] }): boolean;
  /** Opens the pull request of a change pushed as `change.branch`. */
  propose(change: ProposedChange): Promise<{ number: number; url: string }>;
  /** The pull request's state now; may update what it shows (the approvals check). */
  status(
    change: ProposedChange,
    pullRequest: number,
  ): Promise<ChangeProposalState>;
  /**
   * The review rules as a `CODEOWNERS` file for the desired state after a change (each
   * resource's manifest and who must review it), committed with the proposal at
   * `.github/CODEOWNERS`; undefined to leave the file alone.
   */
  codeowners?(
    resources: {
      path: string;
      namespace: string;
      owner: string;
      tier: string;
    }[],
  ): string | undefined;
  /**
   * Called before a change is written for review: what `codeowners` and the approvals need
   * (e.g. the owner groups' teams, from the catalog) is read here.
   */
  prepare?(): Promise<void>;
  /**
   * Tells the control plane to look at open proposals again (a webhook arrived, or a poll is
   * due). Called once, when the control plane starts.
   */
  watch?(onChange: () => void): void;
}

/**
 * Lets a backend module take the changes that need review as pull requests.
 * @public
 */
export interface ControlPlaneChangeProposalsExtensionPoint {
  setChangeProposer(proposer: ChangeProposer): void;
}

/**
 * The extension point for change proposals (pull requests).
 * @public
 */
export const controlPlaneChangeProposalsExtensionPoint =
  createExtensionPoint<ControlPlaneChangeProposalsExtensionPoint>({
    id: 'control-plane.change-proposals',
  });

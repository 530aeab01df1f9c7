import {
  keyForPath,
  Manifest,
  manifestKey,
  ManifestOf,
  ObjectKey,
  Plan,
} from '@idp-multicloud/plugin-control-plane-common';
import { PolicyEvaluator } from '@idp-multicloud/plugin-control-plane-node';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { digestOf } from '../database/util';
import { pricePlan } from '../governance/CostService';
import { PolicyService } from '../governance/PolicyService';
import { defaultPriceList, Pricing } from '../scheduling/pricing';
import {
  BreakingChange,
  breakingChanges,
  crossNamespaceImpact,
} from '../gitops/breaking';
import { DesiredState, validateChange } from '../gitops/DesiredState';
import { git } from '../gitops/git';
import { keyString, parseManifestFile } from '../gitops/manifestCodec';
import { planOf } from '../gitops/ManifestService';
import { GitObjects } from '../gitops/objects';
import { storageShrinkIssues } from '../gitops/storage';
import { DEFAULT_YAML_LIMITS } from '../gitops/yaml';

/**
 * One finding of a check of a state repository checkout.
 * @public
 */
export interface CheckFinding {
  /** `schema`, `reference` (references, cycles, placement, storage), `policy`, `breaking`. */
  check: 'schema' | 'reference' | 'policy' | 'breaking';
  /** Errors fail the check; breaking changes fail it unless allowed. */
  severity: 'error' | 'breaking';
  /** The file, relative to the checkout. */
  file?: string;
  /** The object: resource:<namespace>/<name>, or <kind>:<name>. */
  ref?: string;
  /** The field within the object or file. */
  path?: string;
  /** A refusal's or breaking change's code (quota.maxInstances, resource.deleted, ...). */
  code?: string;
  message: string;
}

/**
 * What `idp validate` reports of a checkout.
 * @public
 */
export interface CheckoutReport {
  /** The directory checked. */
  dir: string;
  /** The base commit compared with (`--base`), when one was given. */
  base?: string;
  /** How many manifest files were read. */
  files: number;
  /** Each object the checkout changes from the base (everything without one), with its cost. */
  plan: Omit<Plan, 'refusals'>;
  findings: CheckFinding[];
  /** Resources of other namespaces depending on what changes. */
  impact: { ref: string; dependents: string[] }[];
}

/** The manifest files of a checkout: every file whose path is a manifest path. */
function manifestFiles(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (at: string) => {
    for (const name of readdirSync(at)) {
      if (name === '.git' || name === 'node_modules') continue;
      const full = join(at, name);
      if (statSync(full).isDirectory()) {
        walk(full);
        continue;
      }
      const path = relative(dir, full).split(sep).join('/');
      if (keyForPath(path)) files.set(path, readFileSync(full, 'utf8'));
    }
  };
  walk(dir);
  return files;
}

/** The manifest files of a commit of the checkout's repository. */
async function filesAt(dir: string, ref: string) {
  const gitDir = await git(['rev-parse', '--absolute-git-dir'], { cwd: dir });
  const commit = await git(['rev-parse', '--verify', `${ref}^{commit}`], {
    cwd: dir,
  });
  const objects = new GitObjects(gitDir);
  const entries = (await objects.diff(undefined, commit)).filter(
    e => e.blob && keyForPath(e.path),
  );
  const { contents } = await objects.readBlobs(
    entries.map(e => e.blob!),
    DEFAULT_YAML_LIMITS.maxBytes,
  );
  const files = new Map<string, string>();
  for (const e of entries) {
    const content = contents.get(e.blob!);
    if (content !== undefined) files.set(e.path, content);
  }
  return { commit, files };
}

/** How a finding names an object: namespaced kinds (a project's definitions too) with theirs. */
function refOf(key: ObjectKey): string {
  if (key.kind === 'Resource') return `resource:${key.namespace}/${key.name}`;
  if (key.kind === 'ProjectProduct') {
    return `projectproduct:${key.namespace}/${key.name}`;
  }
  return `${key.kind.toLowerCase()}:${key.name}`;
}

/** Parses files into manifests; what does not parse is a schema finding. */
function parseFiles(files: Map<string, string>) {
  const manifests: Manifest[] = [];
  const fileOf = new Map<string, string>();
  const findings: CheckFinding[] = [];
  for (const [path, text] of [...files].sort(([a], [b]) =>
    a.localeCompare(b),
  )) {
    if (Buffer.byteLength(text) > DEFAULT_YAML_LIMITS.maxBytes) {
      findings.push({
        check: 'schema',
        severity: 'error',
        file: path,
        message: `too large: at most ${DEFAULT_YAML_LIMITS.maxBytes} bytes`,
      });
      continue;
    }
    const parsed = parseManifestFile(path, text);
    if (!parsed.ok) {
      findings.push(
        ...parsed.issues.map(i => ({
          check: 'schema' as const,
          severity: 'error' as const,
          file: path,
          ref: refOf(keyForPath(path)!),
          ...(i.path !== path ? { path: i.path.replace(`${path}.`, '') } : {}),
          message: i.message,
        })),
      );
      continue;
    }
    const key = keyString(manifestKey(parsed.manifest));
    const other = fileOf.get(key);
    if (other) {
      findings.push({
        check: 'schema',
        severity: 'error',
        file: path,
        ref: refOf(manifestKey(parsed.manifest)),
        message: `declares ${refOf(
          manifestKey(parsed.manifest),
        )}, which ${other} declares too`,
      });
      continue;
    }
    fileOf.set(key, path);
    manifests.push(parsed.manifest);
  }
  return { manifests, fileOf, findings };
}

/**
 * Checks a checkout of the state repository as the control plane checks a change, without
 * a server or a database: each file against the manifest schemas; the desired state it makes
 * with the backend's own validation (references, dependency cycles, placement, storage that
 * would shrink); the change from `base` (a commit of the checkout's repository) with the
 * built-in policy (policies, quotas and budgets, counting the desired resources; nothing is
 * placed offline, so each is priced on the cheapest provider of its cell) and any other
 * evaluators; its cost before and after; its breaking changes; and which resources of other
 * namespaces depend on what changes. Without `base`, everything in the checkout is the change.
 * @public
 */
export async function validateCheckout(options: {
  dir: string;
  base?: string;
  evaluators?: PolicyEvaluator[];
  /** Who the change is attributed to, for policies that look at it. */
  actor?: string;
}): Promise<CheckoutReport> {
  const { dir } = options;
  const files = manifestFiles(dir);
  const head = parseFiles(files);
  const findings = [...head.findings];
  let baseCommit: string | undefined;
  let before = DesiredState.create(undefined, []);
  if (options.base) {
    const base = await filesAt(dir, options.base);
    baseCommit = base.commit;
    // a base that was itself invalid is compared with as far as it parses
    before = DesiredState.create(base.commit, parseFiles(base.files).manifests);
  }
  const after = before.with(
    head.manifests,
    before
      .all()
      .map(manifestKey)
      .filter(k => !head.fileOf.has(keyString(k))),
  );
  const changedManifests = head.manifests.filter(m => {
    const key = manifestKey(m);
    const old = before.get(key.kind, key.name, key.namespace);
    return !old || digestOf(old) !== digestOf(m);
  });
  const changed = changedManifests.map(manifestKey);
  const removed = before
    .all()
    .map(manifestKey)
    .filter(k => !after.has(k));
  // An object whose file does not parse is neither changed nor removed: it is reported.
  const unparsed = new Set(
    findings.flatMap(f => (f.ref && f.check === 'schema' ? [f.ref] : [])),
  );
  const reallyRemoved = removed.filter(k => !unparsed.has(refOf(k)));

  const fileFor = (key: ObjectKey) => head.fileOf.get(keyString(key));
  // Every object is checked (a checkout is not known to have been valid before).
  const allKeys = head.manifests.map(manifestKey);
  for (const issue of [
    ...validateChange(after, allKeys, reallyRemoved),
    ...storageShrinkIssues(before, after, changed),
  ]) {
    findings.push({
      check: 'reference',
      severity: 'error',
      ...(fileFor(issue.key) ? { file: fileFor(issue.key) } : {}),
      ref: refOf(issue.key),
      path: issue.path,
      message: issue.message,
    });
  }

  const pricing = new Pricing(defaultPriceList());
  // Nothing is placed offline: quotas and budgets count the desired resources.
  const nothingPlaced = {
    placedProviders: async () => new Map<string, string>(),
  };
  const policy = new PolicyService({
    resources: nothingPlaced,
    audit: {
      appendMany: async () => {
        throw new Error('an offline check records nothing');
      },
    },
    pricing,
    evaluators: options.evaluators,
  });
  const resourceOf = (m: Manifest) =>
    m.kind === 'Resource' ? [m as ManifestOf<'Resource'>] : [];
  const refusals = await policy.review({
    action: 'manifests.apply',
    actor: options.actor ?? 'user:default/ci',
    before,
    next: after,
    put: changedManifests.flatMap(resourceOf),
    removed: reallyRemoved.flatMap(k =>
      resourceOf(before.get(k.kind, k.name, k.namespace)!),
    ),
  });
  for (const r of refusals) {
    const name = r.ref.replace(/^resource:/, '');
    const key = {
      kind: 'Resource' as const,
      namespace: name.split('/')[0],
      name: name.split('/')[1],
    };
    findings.push({
      check: 'policy',
      severity: 'error',
      ...(fileFor(key) ? { file: fileFor(key) } : {}),
      ref: r.ref,
      ...(r.field ? { path: `spec.${r.field}` } : {}),
      code: r.code,
      message: r.message,
    });
  }

  const breaking: BreakingChange[] = breakingChanges(
    before,
    after,
    changed,
    reallyRemoved,
  );
  for (const b of breaking) {
    findings.push({
      check: 'breaking',
      severity: 'breaking',
      ...(fileFor(b.key) ? { file: fileFor(b.key) } : {}),
      ref: refOf(b.key),
      code: b.code,
      message: b.message,
    });
  }

  const changeSet = { put: changedManifests, remove: reallyRemoved };
  const plan = pricePlan(pricing, new Map(), before, changedManifests, {
    ...planOf(before, { manifests: changedManifests, prune: false }, changeSet),
    refusals: [],
  });
  const { refusals: _none, ...planWithoutRefusals } = plan;
  return {
    dir,
    ...(baseCommit ? { base: baseCommit } : {}),
    files: files.size,
    plan: planWithoutRefusals,
    findings,
    impact: crossNamespaceImpact(before, after, [...changed, ...reallyRemoved]),
  };
}

import {
  resourceVersionKey,
  resourceVersionOf,
} from '@idp-multicloud/plugin-control-plane-common';
import { Schemas } from '@idp-multicloud/sdk';
import { Command } from 'commander';
import { fields, print, table } from '../format';
import { UsageError } from '../params';
import { durationMs, refArgument, Session, sessionOf } from '../session';

type Deployment = Schemas['Deployment'];

const running = new Set(['Progressing', 'Paused']);

const seconds = (ms?: number) =>
  ms === undefined ? undefined : `${Math.round(ms / 100) / 10}s`;

/** The weights as a bar: `[█████░░░░░] 50% 1.1.0`. */
export function weightBar(d: Deployment, width = 20): string {
  const bar = (weight: number) => {
    const filled = Math.round((weight / 100) * width);
    return `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${weight}%`;
  };
  const cells = Object.entries(d.weights.cells ?? {});
  if (cells.length === 0) return `${bar(d.weights.canary)} → ${d.toVersion}`;
  return cells
    .map(([cell, weight]) => `${cell}: ${bar(weight)} → ${d.toVersion}`)
    .join('\n');
}

/** A deployment: what it is, its weights, each step, and its analyses' verdicts. */
export function describeDeployment(d: Deployment): string {
  const failed = d.measurements.filter(m => m.verdict === 'fail');
  return [
    fields([
      ['id', d.id],
      ['resource', d.resourceRef],
      ['versions', `${d.fromVersion} → ${d.toVersion}`],
      ['strategy', d.strategy],
      ['phase', d.phase],
      ['message', d.message],
      ['started by', d.actor],
      ['started', d.startedAt],
      ['duration', seconds(d.durationMs)],
    ]),
    `\n${weightBar(d)}\n`,
    `\n${table(
      ['#', 'STEP', 'STATE', 'CELLS'],
      d.steps.map(s => [
        `${s.index === d.currentStep && running.has(d.phase) ? '→' : ' '}${
          s.index
        }`,
        s.description,
        s.state,
        s.cells?.join(','),
      ]),
    )}`,
    d.measurements.length
      ? `\n\n${table(
          [
            'STEP',
            'CELL',
            'N',
            'VERDICT',
            'METRIC',
            'NEW',
            'STABLE',
            'LIMIT',
            'P',
          ],
          d.measurements.flatMap(m =>
            m.metrics.map(x => [
              m.step,
              m.cell,
              m.index,
              x.verdict,
              x.metric,
              x.canaryMedian?.toPrecision(3),
              x.baselineMedian?.toPrecision(3),
              x.threshold ? `${x.threshold.kind} ${x.threshold.limit}` : '',
              x.pValue?.toPrecision(2),
            ]),
          ),
        )}`
      : '',
    failed.length
      ? `\n\nfailed: ${failed
          .flatMap(m => m.metrics.filter(x => x.verdict === 'fail'))
          .map(x => `${x.metric}: ${x.reasons.join('; ')}`)
          .join(' | ')}`
      : '',
  ].join('');
}

/** The resource's newest deployment (running or not). */
async function latest(session: Session, ref: string): Promise<Deployment> {
  const [newest] = await session.idp.deployments.list(ref);
  if (!newest) throw new UsageError(`${ref} has no deployment`);
  return session.idp.deployments.get(newest.id);
}

/** Its running deployment, for an action. */
async function current(session: Session, ref: string): Promise<Deployment> {
  const d = await latest(session, ref);
  if (!running.has(d.phase)) {
    throw new UsageError(
      `${ref} has no deployment in progress (its last, ${d.fromVersion} → ${d.toVersion}, ${d.phase})`,
    );
  }
  return d;
}

/**
 * Follows a deployment until it ends, one line per step change on stderr; resolves with it,
 * and rejects (exit 1) unless it succeeded.
 */
export async function followDeployment(
  session: Session,
  start: Deployment,
  timeout: string,
  pollMs = 1000,
): Promise<Deployment> {
  const deadline = Date.now() + durationMs(timeout);
  const seen = new Map<number, string>();
  let phase = '';
  let d = start;
  for (;;) {
    for (const s of d.steps) {
      if (seen.get(s.index) !== s.state && s.state !== 'pending') {
        seen.set(s.index, s.state);
        process.stderr.write(
          `${new Date().toISOString().slice(11, 19)} ${s.index} ${
            s.description
          }: ${s.state}\n`,
        );
      }
    }
    if (d.phase !== phase) {
      phase = d.phase;
      process.stderr.write(
        `${d.phase}${d.message ? `: ${d.message}` : ''}  ${weightBar(d).replace(
          /\n/g,
          '  ',
        )}\n`,
      );
    }
    if (!running.has(d.phase)) break;
    if (Date.now() > deadline) {
      throw new Error(
        `deployment ${d.id} did not end within ${timeout}; it is ${d.phase} at step ${d.currentStep}`,
      );
    }
    await new Promise(r => setTimeout(r, pollMs));
    d = await session.idp.deployments.get(d.id);
  }
  if (d.phase !== 'Succeeded') {
    print(session.output, d, () => describeDeployment(d));
    throw new Error(
      `deployment ${d.fromVersion} → ${d.toVersion} ${d.phase}${
        d.message ? `: ${d.message}` : ''
      }`,
    );
  }
  return d;
}

/** After a change of version: says so, or (`--wait`) follows the deployment it starts. */
async function finishRollout(
  session: Session,
  raw: string,
  ref: string,
  resource: Schemas['Resource'],
  before: string | undefined,
  opts: { wait?: boolean; timeout: string },
) {
  const wanted = String(resourceVersionOf(resource.spec.params));
  if (!opts.wait) {
    print(
      session.output,
      resource,
      () =>
        `${ref}: ${wanted} asked for; 'idp rollout status ${raw} --wait' follows its deployment`,
    );
    return;
  }
  // the reconciler starts the deployment moments after the commit
  const deadline = Date.now() + durationMs(opts.timeout);
  let d: Deployment | undefined;
  while (!d) {
    const [newest] = await session.idp.deployments.list(ref);
    if (newest && newest.id !== before && newest.toVersion === wanted) {
      d = newest;
    } else if (Date.now() > deadline) {
      throw new Error(
        `no deployment of ${wanted} started within ${opts.timeout}`,
      );
    } else {
      await new Promise(r => setTimeout(r, 500));
    }
  }
  const final = await followDeployment(
    session,
    await session.idp.deployments.get(d.id),
    opts.timeout,
  );
  print(session.output, final, () => describeDeployment(final));
}

export function rolloutCommands(): Command[] {
  const rollout = new Command('rollout').description(
    "Deployments of new versions: 'idp rollout status <ref> --wait', promote, pause, resume, abort, approve, undo, history",
  );
  const refArg = [
    '<ref>',
    'name, namespace/name or resource:namespace/name',
  ] as const;

  rollout.addCommand(
    new Command('status')
      .description(
        "The resource's latest deployment: steps, weights, analyses (--wait follows it to its end)",
      )
      .argument(...refArg)
      .option('--wait', 'follow it until it ends; exit 1 unless it succeeded')
      .option('--timeout <duration>', 'how long --wait waits', '30m')
      .action(async (raw: string, opts: any, command: Command) => {
        const session = await sessionOf(command);
        let d = await latest(session, refArgument(raw));
        if (opts.wait) d = await followDeployment(session, d, opts.timeout);
        print(session.output, d, () => describeDeployment(d));
      }),
  );

  const action = (
    name: 'promote' | 'pause' | 'resume' | 'abort' | 'approve',
    description: string,
  ) => {
    const sub = new Command(name)
      .description(description)
      .argument(...refArg)
      .option('--reason <text>', 'why, for the audit log')
      .option('--wait', 'follow the deployment until it ends')
      .option('--timeout <duration>', 'how long --wait waits', '30m');
    if (name === 'promote') {
      sub.option('--full', 'skip every step left, analyses too');
    }
    return sub.action(async (raw: string, opts: any, command: Command) => {
      const session = await sessionOf(command);
      const d = await current(session, refArgument(raw));
      let after = await session.idp.deployments[name](d.id, {
        reason: opts.reason,
        ...(opts.full ? { full: true } : {}),
      });
      if (opts.wait)
        after = await followDeployment(session, after, opts.timeout);
      print(session.output, after, () => describeDeployment(after));
    });
  };
  rollout.addCommand(
    action('promote', 'End the pause in progress (--full: every step left)'),
  );
  rollout.addCommand(action('pause', 'Hold the deployment at its next step'));
  rollout.addCommand(action('resume', 'Resume a paused deployment'));
  rollout.addCommand(
    action(
      'abort',
      'Roll back to the stable version: traffic back, the new version out',
    ),
  );
  rollout.addCommand(
    action(
      'approve',
      'Approve the approval step in progress (as a member of its group)',
    ),
  );

  rollout.addCommand(
    new Command('start')
      .description(
        'Roll a resource out to a new version: a change of its version, deployed with its rollout',
      )
      .argument(...refArg)
      .argument('<version>', 'the image tag or engine version to roll out')
      .option('--wait', 'follow the deployment until it ends')
      .option('--timeout <duration>', 'how long --wait waits', '30m')
      .action(
        async (raw: string, version: string, opts: any, command: Command) => {
          const session = await sessionOf(command);
          const ref = refArgument(raw);
          const asIs = await session.idp.resources.get(ref);
          const key = resourceVersionKey(asIs.spec.params);
          if (asIs.spec.params[key] === undefined) {
            throw new UsageError(
              `${ref} is a ${asIs.spec.product}, which has no version to roll out`,
            );
          }
          const [before] = await session.idp.deployments.list(ref);
          const resource = await session.idp.resources.update(ref, {
            params: { [key]: version },
          });
          await finishRollout(session, raw, ref, resource, before?.id, opts);
        },
      ),
  );

  rollout.addCommand(
    new Command('undo')
      .description(
        'Roll back to an earlier version that succeeded (the one before the running one by default), deployed like any change',
      )
      .argument(...refArg)
      .option('--to-version <version>', 'the version to go back to')
      .option('--wait', 'follow the deployment until it ends')
      .option('--timeout <duration>', 'how long --wait waits', '30m')
      .action(async (raw: string, opts: any, command: Command) => {
        const session = await sessionOf(command);
        const ref = refArgument(raw);
        const [before] = await session.idp.deployments.list(ref);
        const resource = await session.idp.deployments.rollback(
          ref,
          opts.toVersion,
        );
        await finishRollout(session, raw, ref, resource, before?.id, opts);
      }),
  );

  rollout.addCommand(
    new Command('history')
      .description("The resource's deployments, newest first")
      .argument(...refArg)
      .action(async (raw: string, _o: unknown, command: Command) => {
        const session = await sessionOf(command);
        const items = await session.idp.deployments.list(refArgument(raw));
        print(session.output, { items }, () =>
          table(
            [
              'ID',
              'FROM',
              'TO',
              'STRATEGY',
              'PHASE',
              'BY',
              'STARTED',
              'DURATION',
            ],
            items.map(d => [
              d.id,
              d.fromVersion,
              d.toVersion,
              d.strategy,
              d.phase,
              d.actor,
              d.startedAt,
              seconds(d.durationMs),
            ]),
          ),
        );
      }),
  );
  return [rollout];
}

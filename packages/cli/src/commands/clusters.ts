import { Schemas } from '@idp-multicloud/sdk';
import { Command } from 'commander';
import { fields, print, table } from '../format';
import { UsageError } from '../params';
import { durationMs, Session, sessionOf } from '../session';

type ClusterOperation = Schemas['ClusterOperation'];

const marks: Record<string, string> = {
  pending: ' ',
  running: '…',
  succeeded: '✓',
  failed: '✗',
  compensated: '↶',
};

/** Prints each step as it changes, to stderr, while `--wait` waits. */
function stepPrinter() {
  const seen = new Map<string, string>();
  return (op: ClusterOperation) => {
    for (const s of op.steps) {
      const key = `${s.state}:${s.attempts}`;
      if (seen.get(s.name) === key || s.state === 'pending') continue;
      seen.set(s.name, key);
      process.stderr.write(
        `  ${marks[s.state] ?? '?'} ${s.name}${
          s.error ? `: ${s.error}` : ''
        }\n`,
      );
    }
  };
}

/**
 * Prints what a lifecycle request started and, with `--wait`, waits for it: exit 1 when it
 * did not succeed.
 */
async function accepted(
  session: Session,
  result: {
    cluster: string;
    commit: string | null;
    operation?: ClusterOperation;
  },
  opts: { wait?: boolean; timeout: string },
) {
  const op = result.operation;
  if (!op) {
    print(
      session.output,
      result,
      () =>
        `Changed ${result.cluster}${
          result.commit ? ` in commit ${result.commit.slice(0, 12)}` : ''
        }; no operation needed.`,
    );
    return;
  }
  if (!opts.wait) {
    print(
      session.output,
      result,
      () =>
        `${op.type} of ${result.cluster} ${
          typeof op.params.notBefore === 'string'
            ? `waits for its maintenance window (${op.params.notBefore})`
            : 'started'
        }: operation ${op.id} (${op.steps.map(s => s.name).join(' → ')})`,
    );
    return;
  }
  process.stderr.write(`${op.type} ${result.cluster} (${op.id})\n`);
  const final = await session.idp.clusters.wait(result.cluster, op.id, {
    pollMs: 500,
    timeoutMs: durationMs(opts.timeout),
    onProgress: stepPrinter(),
  });
  print(session.output, final, () =>
    final.state === 'succeeded'
      ? `${final.type} of ${final.cluster} succeeded`
      : `${final.type} of ${final.cluster} ${final.state}: ${final.error}`,
  );
  if (final.state !== 'succeeded') process.exitCode = 1;
}

const waitOptions = (c: Command) =>
  c
    .option('--wait', 'wait until the operation ends, showing its steps')
    .option('--timeout <duration>', 'how long --wait waits', '60m');

/** `key=value` labels. */
function labelsOf(
  raw: string[] | undefined,
): Record<string, string> | undefined {
  if (!raw?.length) return undefined;
  return Object.fromEntries(
    raw.map(l => {
      const i = l.indexOf('=');
      if (i < 1) throw new UsageError(`--label ${l}: must be key=value`);
      return [l.slice(0, i), l.slice(i + 1)];
    }),
  );
}

/** `name=machineType:count` (count within optional `min-max`: `general=standard-8:3:1-6`). */
export function parsePool(
  raw: string,
): Schemas['ClusterCreateRequest']['nodePools'][number] {
  const m = /^([a-z0-9][a-z0-9-]*)=([^:]+):(\d+)(?::(\d+)-(\d+))?$/.exec(raw);
  if (!m) {
    throw new UsageError(
      `--pool ${raw}: must be name=machineType:count[:min-max], e.g. general=standard-8:3:1-6`,
    );
  }
  return {
    name: m[1],
    machineType: m[2],
    count: Number(m[3]),
    ...(m[4] ? { min: Number(m[4]), max: Number(m[5]) } : {}),
  };
}

const collect = (value: string, previous: string[] = []) => [
  ...previous,
  value,
];

export function clusterCommands(): Command[] {
  const clusters = new Command('clusters')
    .alias('cluster')
    .description(
      'Run the fleet (platform engineers): list clusters with their health, create, upgrade, scale, drain and decommission them',
    )
    .addHelpText(
      'after',
      '\nA lab cluster from creation to decommission, each step waited for.\n\n  idp clusters list\n' +
        '  idp clusters create eu-lab --cell cell-eu --provider gcp --region europe-west1 --zone europe-west1-b --kubernetes-version 1.30 --pool general=standard-8:3 --wait\n' +
        '  idp clusters scale eu-lab general 5 --wait\n' +
        '  idp clusters upgrade eu-lab 1.31 --wait      # one minor at a time\n' +
        '  idp clusters drain eu-lab --wait\n' +
        '  idp clusters decommission eu-lab --wait\n',
    );

  clusters.addCommand(
    new Command('list')
      .description(
        'Clusters by cell and provider, with version, phase and health score',
      )
      .action(async (_o: unknown, command: Command) => {
        const session = await sessionOf(command);
        const items = await session.idp.clusters.list();
        print(session.output, items, () =>
          table(
            [
              'NAME',
              'CELL',
              'PROVIDER',
              'VERSION',
              'PHASE',
              'HEALTH',
              'CHANNEL',
              'OPERATION',
            ],
            items.map(c => [
              c.id,
              c.cell,
              c.provider,
              c.observed?.controlPlaneVersion ?? c.version,
              c.observed?.phase ?? 'unmanaged',
              c.health?.score ?? '',
              c.channel ?? '',
              c.operations?.[0]
                ? `${c.operations[0].type} (${c.operations[0].state})`
                : '',
            ]),
          ),
        );
      }),
  );

  clusters.addCommand(
    new Command('get')
      .description(
        'A cluster: spec, what was observed, health breakdown, what is placed on it',
      )
      .argument('<name>')
      .action(async (name: string, _o: unknown, command: Command) => {
        const session = await sessionOf(command);
        const c = await session.idp.clusters.get(name);
        print(session.output, c, () =>
          [
            fields([
              ['name', c.id],
              ['cell', c.cell],
              ['provider', c.provider],
              ['version', c.version],
              ['phase', c.observed?.phase ?? 'unmanaged'],
              [
                'observed',
                c.observed
                  ? `control plane ${c.observed.controlPlaneVersion}, ${c.observed.nodesReady}/${c.observed.nodesTotal} nodes ready`
                  : 'never',
              ],
              [
                'pools',
                c.nodePools
                  .map(p => `${p.name}=${p.machineType}:${p.count}`)
                  .join(', '),
              ],
              ['channel', c.channel ?? ''],
              ['health', c.health?.score ?? ''],
              ['placed', (c.placed ?? []).join(', ')],
            ]),
            c.health
              ? table(
                  ['FACTOR', 'WEIGHT', 'SCORE', 'DETAIL'],
                  c.health.breakdown.map(b => [
                    b.factor,
                    b.weight,
                    b.score,
                    b.detail,
                  ]),
                )
              : '',
          ].join('\n\n'),
        );
      }),
  );

  clusters.addCommand(
    new Command('health')
      .description(
        "A cluster's health score, its breakdown and its last 24 hours",
      )
      .argument('<name>')
      .action(async (name: string, _o: unknown, command: Command) => {
        const session = await sessionOf(command);
        const h = await session.idp.clusters.health(name);
        print(session.output, h, () =>
          [
            `${h.cluster}: ${h.health.score}/100`,
            table(
              ['FACTOR', 'WEIGHT', 'SCORE', 'DETAIL'],
              h.health.breakdown.map(b => [
                b.factor,
                b.weight,
                b.score,
                b.detail,
              ]),
            ),
            h.series.length
              ? `last 24 h: ${h.series.map(s => s.score).join(' ')}`
              : 'no samples yet',
          ].join('\n'),
        );
      }),
  );

  clusters.addCommand(
    waitOptions(
      new Command('create')
        .description(
          'Create a cluster: its manifest committed, then provisioned by its driver',
        )
        .argument('<name>')
        .requiredOption('--cell <cell>')
        .requiredOption('--provider <provider>')
        .requiredOption('--region <region>')
        .requiredOption('--zone <zone>', 'a zone (repeat for several)', collect)
        .requiredOption(
          '--kubernetes-version <version>',
          'Kubernetes version, e.g. 1.31',
        )
        .requiredOption(
          '--pool <name=machineType:count[:min-max]>',
          'a node pool (repeat for several)',
          collect,
        )
        .option('--channel <channel>', 'rapid, regular or stable')
        .option('--label <key=value>', 'a label (repeat for several)', collect),
    ).action(async (name: string, opts: any, command: Command) => {
      const session = await sessionOf(command);
      const labels = labelsOf(opts.label);
      const result = await session.idp.clusters.create({
        name,
        cell: opts.cell,
        provider: opts.provider,
        region: opts.region,
        zones: opts.zone,
        version: opts.kubernetesVersion,
        nodePools: (opts.pool as string[]).map(parsePool),
        ...(opts.channel ? { channel: opts.channel } : {}),
        ...(labels ? { labels } : {}),
      });
      await accepted(session, result, opts);
    }),
  );

  clusters.addCommand(
    waitOptions(
      new Command('upgrade')
        .description(
          'Upgrade a cluster, control plane first then each pool; refused before anything changes when the version skips a minor',
        )
        .argument('<name>')
        .argument('<version>')
        .option(
          '--in-window',
          "start when the cluster's maintenance window next opens, not now",
        ),
    ).action(
      async (name: string, version: string, opts: any, command: Command) => {
        const session = await sessionOf(command);
        await accepted(
          session,
          await session.idp.clusters.update(name, {
            version,
            ...(opts.inWindow ? { when: 'window' as const } : {}),
          }),
          opts,
        );
      },
    ),
  );

  clusters.addCommand(
    waitOptions(
      new Command('scale')
        .description('Set the size of a node pool')
        .argument('<name>')
        .argument('<pool>')
        .argument('<count>'),
    ).action(
      async (
        name: string,
        pool: string,
        count: string,
        opts: any,
        command: Command,
      ) => {
        if (!/^\d+$/.test(count)) {
          throw new UsageError(`<count> ${count}: must be a number of nodes`);
        }
        const session = await sessionOf(command);
        await accepted(
          session,
          await session.idp.clusters.update(name, {
            nodePools: [{ name: pool, count: Number(count) }],
          }),
          opts,
        );
      },
    ),
  );

  clusters.addCommand(
    waitOptions(
      new Command('drain')
        .description(
          'Cordon a cluster and move everything placed on it to other clusters of its cell, dependencies first',
        )
        .argument('<name>')
        .option('--reason <text>'),
    ).action(async (name: string, opts: any, command: Command) => {
      const session = await sessionOf(command);
      await accepted(
        session,
        await session.idp.clusters.drain(name, { reason: opts.reason }),
        opts,
      );
    }),
  );

  clusters.addCommand(
    new Command('uncordon')
      .description(
        'Return a drained cluster to service: new resources may be placed on it again',
      )
      .argument('<name>')
      .action(async (name: string, _o: unknown, command: Command) => {
        const session = await sessionOf(command);
        const done = await session.idp.clusters.uncordon(name);
        print(
          session.output,
          done,
          () => `${done.cluster} is back in service.`,
        );
      }),
  );

  clusters.addCommand(
    waitOptions(
      new Command('decommission')
        .description(
          'Delete a cluster; refused while anything is placed on it (drain it first)',
        )
        .argument('<name>'),
    ).action(async (name: string, opts: any, command: Command) => {
      const session = await sessionOf(command);
      await accepted(
        session,
        await session.idp.clusters.decommission(name),
        opts,
      );
    }),
  );

  clusters.addCommand(
    new Command('automation')
      .description(
        'Observe the managed clusters and run channel automation now: upgrades in waves inside maintenance windows, idle clusters',
      )
      .action(async (_o: unknown, command: Command) => {
        const session = await sessionOf(command);
        const report = await session.idp.clusters.runAutomation();
        print(
          session.output,
          report,
          () =>
            [
              ...report.channels.map(
                c =>
                  `${c.channel} → ${c.target}: wave ${c.wave + 1} of ${
                    c.waves.length
                  }${c.start.length ? `, started ${c.start.join(', ')}` : ''}${
                    c.halted ? `, HALTED: ${c.halted}` : ''
                  }${
                    c.awaitingApproval.length
                      ? `, awaiting approval of ${c.awaitingApproval.join(
                          ', ',
                        )}`
                      : ''
                  }`,
              ),
              ...report.idle.map(
                i =>
                  `${i.cluster} idle since ${i.emptySince}${
                    i.proposal ? ` (proposed: ${i.proposal})` : ''
                  }`,
              ),
            ].join('\n') || 'No channel and no idle cluster.',
        );
      }),
  );

  clusters.addCommand(
    new Command('approve')
      .description("Let a channel's clusters move to a new Kubernetes minor")
      .argument('<channel>', 'rapid, regular or stable')
      .argument('<minor>', 'e.g. 1.32')
      .action(
        async (
          channel: string,
          minor: string,
          _o: unknown,
          command: Command,
        ) => {
          if (!['rapid', 'regular', 'stable'].includes(channel)) {
            throw new UsageError(
              `<channel> ${channel}: must be rapid, regular or stable`,
            );
          }
          const session = await sessionOf(command);
          const approved = await session.idp.clusters.approveMinor(
            channel as 'stable',
            minor,
          );
          print(
            session.output,
            approved,
            () =>
              `Clusters of ${approved.channel} may move to ${approved.minor}.`,
          );
        },
      ),
  );

  return [clusters];
}

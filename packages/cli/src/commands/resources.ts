import {
  builtinProductParameters,
  resourceStates,
  tierIds,
} from '@idp-multicloud/plugin-control-plane-common';
import type { ResourceEvent } from '@idp-multicloud/plugin-control-plane-common';
import { Resource } from '@idp-multicloud/sdk';
import { Command, Option } from 'commander';
import { randomBytes } from 'node:crypto';
import { stringify } from 'yaml';
import { fields, print, table } from '../format';
import {
  addSchemaOptions,
  collect,
  collectLabel,
  collectParam,
  UsageError,
} from '../params';
import { progressFor } from '../progress';
import { durationMs, refArgument, Session, sessionOf } from '../session';

const placementOf = (r: Resource) =>
  r.status.placement
    ? `${r.status.placement.provider}/${r.status.placement.cluster}`
    : '';

/** One resource as `key value` lines. */
export function describeResource(r: Resource): string {
  return fields([
    ['ref', r.ref],
    ['product', r.spec.product],
    ['state', r.status.state],
    ['reason', r.status.reason],
    ['owner', r.spec.owner],
    ['component', r.spec.component],
    ['tier', r.spec.tier],
    ['cell', r.spec.cell],
    ['placement', placementOf(r)],
    ['version', r.status.version],
    [
      'generation',
      `${r.status.observedGeneration}/${r.status.generation} observed`,
    ],
    ['depends on', r.spec.dependsOn?.join(', ')],
    [
      'labels',
      Object.entries(r.metadata.labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(', '),
    ],
    [
      'params',
      Object.keys(r.spec.params ?? {}).length ? r.spec.params : undefined,
    ],
    ['commit', r.status.commit],
  ]);
}

/** Resources as a table. */
export function resourceTable(items: Resource[]): string {
  return table(
    ['REF', 'PRODUCT', 'STATE', 'TIER', 'CELL', 'PLACEMENT', 'OWNER'],
    items.map(r => [
      r.ref,
      r.spec.product,
      r.status.state,
      r.spec.tier,
      r.spec.cell,
      placementOf(r),
      r.spec.owner,
    ]),
  );
}

/**
 * Waits until the resource is in one of `states`, showing its saga's progress on stderr;
 * ends the command with exit code 1 when it ends FAILED (or DELETED) instead.
 */
export async function waitShowing(
  session: Session,
  ref: string,
  states: Resource['status']['state'][],
  timeout: string,
): Promise<Resource> {
  const progress = progressFor(`${ref} → ${states.join(' or ')}`);
  try {
    return await session.idp.resources.waitFor(ref, states, {
      timeoutMs: durationMs(timeout),
      onEvent: (e: ResourceEvent) => progress.event(e),
    });
  } finally {
    progress.stop();
  }
}

const randomSuffix = () =>
  Array.from(
    randomBytes(5),
    b => 'abcdefghijklmnopqrstuvwxyz0123456789'[b % 36],
  ).join('');

function createCommand(): Command {
  const create = new Command('create').description(
    'Ask for a resource of a product; the control plane validates it, commits it and provisions it',
  );
  for (const [product, schema] of Object.entries(builtinProductParameters)) {
    const sub = new Command(product)
      .description(`Ask for a ${product}`)
      .argument('[name]', `the resource name (default: ${product}-<random>)`)
      .addOption(
        new Option(
          '--cell <cell>',
          'the cell to run in, e.g. cell-us',
        ).makeOptionMandatory(),
      )
      .addOption(
        new Option(
          '--tier <tier>',
          `criticality: ${tierIds.join(', ')}`,
        ).default('medium'),
      )
      .option('-n, --namespace <namespace>', 'the namespace', 'default')
      .option(
        '--owner <ref>',
        'the owning team, e.g. group:default/payments (default: you)',
      )
      .option('--component <ref>', 'the catalog component or system it serves')
      .option(
        '--depends-on <ref>',
        'a resource it needs READY first (repeatable)',
        collect,
      )
      .option('-l, --label <key=value>', 'a label (repeatable)', collectLabel)
      .option(
        '-p, --param <key=value>',
        'any parameter, dotted for nested ones, e.g. backups.retentionDays=14 (repeatable)',
        collectParam,
      )
      .option('--wait', 'wait until it is READY, showing the saga as it runs')
      .option('--timeout <duration>', 'how long --wait waits', '15m')
      .option(
        '--idempotency-key <key>',
        'make a repeated call count once (default: a new key)',
      );
    const schemaParams = addSchemaOptions(sub, schema, [
      'cell',
      'tier',
      'namespace',
      'owner',
      'component',
      'label',
      'wait',
      'timeout',
    ]);
    sub.action(
      async (name: string | undefined, opts: any, command: Command) => {
        const session = await sessionOf(command);
        const owner = opts.owner ?? session.user;
        if (!owner) {
          throw new UsageError(
            '--owner is needed: the token does not say who you are',
          );
        }
        const resource = await session.idp.resources.create(
          {
            product,
            name: name ?? `${product}-${randomSuffix()}`,
            namespace: opts.namespace,
            owner,
            component: opts.component,
            tier: opts.tier,
            cell: opts.cell,
            params: { ...schemaParams(opts), ...opts.param },
            dependsOn: opts.dependsOn?.map(refArgument),
            labels: opts.label,
          },
          { idempotencyKey: opts.idempotencyKey },
        );
        const final = opts.wait
          ? await waitShowing(session, resource.ref, ['READY'], opts.timeout)
          : resource;
        print(session.output, final, () => describeResource(final));
      },
    );
    create.addCommand(sub);
  }
  return create;
}

export function resourceCommands(): Command[] {
  const get = new Command('get')
    .description('Show a resource: its spec and status')
    .argument('<ref>', 'name, namespace/name or resource:namespace/name')
    .action(async (raw: string, _o: unknown, command: Command) => {
      const session = await sessionOf(command);
      const r = await session.idp.resources.get(refArgument(raw));
      print(session.output, r, () => describeResource(r));
    });

  const list = new Command('list')
    .alias('ls')
    .description('List resources, page by page (--all for every page)')
    .option('--owner <ref>', 'owned by this team')
    .option('--component <ref>', 'serving this component')
    .option('--product <id>', 'of this product')
    .option('--cell <cell>', 'in this cell')
    .addOption(new Option('--tier <tier>', 'of this tier').choices(tierIds))
    .addOption(
      new Option('--state <state>', 'in this state').choices(resourceStates),
    )
    .option('-n, --namespace <namespace>', 'in this namespace')
    .option('--limit <n>', 'resources per page (1-500)', v => Number(v), 50)
    .option('--cursor <cursor>', 'the page after this cursor')
    .option('--all', 'every page')
    .action(async (opts: any, command: Command) => {
      const session = await sessionOf(command);
      const query = {
        owner: opts.owner,
        component: opts.component,
        product: opts.product,
        cell: opts.cell,
        tier: opts.tier,
        state: opts.state,
        namespace: opts.namespace,
        limit: opts.limit,
      };
      let items: Resource[];
      let nextCursor: string | undefined;
      if (opts.all) {
        items = [];
        for await (const r of session.idp.resources.listAll(query))
          items.push(r);
      } else {
        ({ items, nextCursor } = await session.idp.resources.list({
          ...query,
          cursor: opts.cursor,
        }));
      }
      print(session.output, { items, nextCursor }, () =>
        items.length ? resourceTable(items) : 'No resources match.',
      );
      if (nextCursor && session.output === 'table') {
        process.stderr.write(`more: --cursor ${nextCursor} (or --all)\n`);
      }
    });

  const del = new Command('delete')
    .description(
      'Delete a resource (refused while others depend on it, unless --cascade)',
    )
    .argument('<ref>', 'name, namespace/name or resource:namespace/name')
    .option('--cascade', 'delete the resources that depend on it first')
    .option('--wait', 'wait until it is gone, showing progress')
    .option('--timeout <duration>', 'how long --wait waits', '15m')
    .action(async (raw: string, opts: any, command: Command) => {
      const session = await sessionOf(command);
      const answer = await session.idp.resources.delete(refArgument(raw), {
        cascade: opts.cascade,
      });
      if (opts.wait) {
        for (const ref of answer.deleting) {
          await waitShowing(session, ref, ['DELETED'], opts.timeout).catch(
            error => {
              // Gone and forgotten already: what we waited for.
              if ((error as { statusCode?: number }).statusCode !== 404)
                throw error;
            },
          );
        }
      }
      print(
        session.output,
        answer,
        () =>
          `${opts.wait ? 'deleted' : 'deleting'} ${answer.deleting.join(
            ', ',
          )} (commit ${answer.commit.slice(0, 12)})`,
      );
    });

  const status = new Command('status')
    .description(
      'Show where a resource is: state, conditions, what it waits for, its last operation',
    )
    .argument('<ref>', 'name, namespace/name or resource:namespace/name')
    .action(async (raw: string, _o: unknown, command: Command) => {
      const session = await sessionOf(command);
      const ref = refArgument(raw);
      const [current, blockers, operations] = await Promise.all([
        session.idp.resources.status(ref),
        session.idp.resources.blockers(ref),
        session.idp.resources.operations(ref),
      ]);
      const last = operations[0];
      print(
        session.output,
        {
          ref,
          status: current,
          blockers: blockers.blockers,
          lastOperation: last,
        },
        () =>
          [
            fields([
              ['ref', ref],
              ['state', current.state],
              ['reason', current.reason],
              [
                'generation',
                `${current.observedGeneration}/${current.generation} observed`,
              ],
              [
                'placement',
                current.placement
                  ? `${current.placement.provider}/${current.placement.cluster} in ${current.placement.cell}`
                  : undefined,
              ],
              ['version', current.version],
              [
                'waits for',
                blockers.blocked
                  ? blockers.blockers
                      .map(b => `${b.ref} (${b.state}: ${b.reason})`)
                      .join('; ')
                  : undefined,
              ],
              [
                'last operation',
                last
                  ? `${last.type} ${last.state} (${last.id}) by ${last.actor}`
                  : undefined,
              ],
            ]),
            current.conditions.length
              ? `\n${table(
                  ['CONDITION', 'STATUS', 'REASON', 'MESSAGE'],
                  current.conditions.map(c => [
                    c.type,
                    c.status,
                    c.reason,
                    c.message,
                  ]),
                )}`
              : '',
            last?.steps.length
              ? `\n${table(
                  ['STEP', 'STATE', 'ATTEMPTS', 'ERROR'],
                  last.steps.map(s => [s.name, s.state, s.attempts, s.error]),
                )}`
              : '',
          ].join(''),
      );
    });

  const events = new Command('events')
    .description("Show a resource's events; --follow keeps streaming new ones")
    .argument('<ref>', 'name, namespace/name or resource:namespace/name')
    .option('-f, --follow', 'stream new events as they happen (Ctrl-C to stop)')
    .action(async (raw: string, opts: any, command: Command) => {
      const session = await sessionOf(command);
      const ref = refArgument(raw);
      // One event a line (JSON lines), or a YAML document each: a stream, not one value.
      const formats = {
        table: (e: ResourceEvent) =>
          `${e.at}  ${e.type.padEnd(20)} ${e.message}`,
        json: (e: ResourceEvent) => JSON.stringify(e),
        yaml: (e: ResourceEvent) => `---\n${stringify(e).trimEnd()}`,
      };
      const line = formats[session.output];
      const past = await session.idp.resources.eventLog(ref);
      for (const e of past) process.stdout.write(`${line(e)}\n`);
      if (!opts.follow) return;
      const controller = new AbortController();
      process.once('SIGINT', () => controller.abort());
      const afterId = past.length ? past[past.length - 1].id : 0;
      for await (const e of session.idp.resources.events(ref, {
        afterId,
        signal: controller.signal,
      })) {
        process.stdout.write(`${line(e)}\n`);
      }
    });

  return [createCommand(), get, list, del, status, events];
}

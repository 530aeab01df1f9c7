import {
  operationParamsSchemas,
  operationTypes,
} from '@idp-multicloud/plugin-control-plane-common';
import { Operation } from '@idp-multicloud/sdk';
import { Command } from 'commander';
import { fields, print, table } from '../format';
import { addSchemaOptions, collectParam } from '../params';
import { progressFor } from '../progress';
import { durationMs, refArgument, Session, sessionOf } from '../session';

const finished = new Set([
  'succeeded',
  'failed',
  'compensated',
  'cancelled',
  'needs-attention',
]);

/** An operation: what it is, and each step. */
export function describeOperation(o: Operation): string {
  return [
    fields([
      ['id', o.id],
      ['type', o.type],
      ['resource', o.resourceRef],
      ['state', o.state],
      ['error', o.error],
      ['started by', o.actor],
      ['params', Object.keys(o.params).length ? o.params : undefined],
      ['trace', o.traceId],
      ['created', o.createdAt],
      ['updated', o.updatedAt],
    ]),
    o.steps.length
      ? `\n${table(
          ['STEP', 'STATE', 'ATTEMPTS', 'COMPENSATIONS', 'ERROR'],
          o.steps.map(s => [
            s.name,
            s.state,
            s.attempts,
            s.compensationAttempts,
            s.error,
          ]),
        )}`
      : '',
  ].join('');
}

/**
 * Waits until the operation ends, showing its steps on stderr as the resource's events arrive;
 * rejects (exit code 1) unless it succeeded.
 */
export async function waitForOperation(
  session: Session,
  op: Operation,
  timeout: string,
) {
  const progress = progressFor(`${op.type} ${op.resourceRef}`);
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), durationMs(timeout));
  let current = op;
  try {
    current = await session.idp.operations.get(op.id);
    if (!finished.has(current.state)) {
      for await (const e of session.idp.resources.events(op.resourceRef, {
        signal: controller.signal,
      })) {
        if (e.operationId !== op.id) continue;
        progress.event(e);
        if (e.type.startsWith('operation.')) {
          current = await session.idp.operations.get(op.id);
          if (finished.has(current.state)) break;
        }
      }
    }
  } finally {
    clearTimeout(timer);
    progress.stop();
  }
  if (!finished.has(current.state)) {
    throw new Error(
      `${op.type} ${op.id} did not end within ${timeout}; it is ${current.state}`,
    );
  }
  if (current.state !== 'succeeded') {
    print(session.output, current, () => describeOperation(current));
    throw new Error(
      `${op.type} ${op.id} ${current.state}${
        current.error ? `: ${current.error}` : ''
      }`,
    );
  }
  return current;
}

export function operationCommands(): Command[] {
  const ops = new Command('ops').description(
    "Run an operation of the unified contract on a resource, or look at one: 'idp ops <type> <ref>'",
  );
  for (const type of operationTypes) {
    const sub = new Command(type)
      .description(`Run ${type} on a resource`)
      .argument('<ref>', 'name, namespace/name or resource:namespace/name')
      .option(
        '-p, --param <key=value>',
        'a parameter of the operation (repeatable)',
        collectParam,
      )
      .option('--wait', 'wait until it ends, showing its steps')
      .option('--timeout <duration>', 'how long --wait waits', '15m');
    const params = addSchemaOptions(sub, operationParamsSchemas[type], [
      'wait',
      'timeout',
    ]);
    sub.action(async (raw: string, opts: any, command: Command) => {
      const session = await sessionOf(command);
      const op = await session.idp.operations.create(refArgument(raw), {
        type,
        params: { ...params(opts), ...opts.param },
      });
      const final = opts.wait
        ? await waitForOperation(session, op, opts.timeout)
        : op;
      print(session.output, final, () => describeOperation(final));
    });
    ops.addCommand(sub);
  }
  const byId = (
    name: string,
    description: string,
    run: (s: Session, id: string) => Promise<Operation>,
  ) =>
    new Command(name)
      .description(description)
      .argument('<id>', 'the operation id')
      .action(async (id: string, _o: unknown, command: Command) => {
        const session = await sessionOf(command);
        const o = await run(session, id);
        print(session.output, o, () => describeOperation(o));
      });
  ops.addCommand(
    byId(
      'show',
      'Show an operation: its steps, retries and compensations',
      (s, id) => s.idp.operations.get(id),
    ),
  );
  ops.addCommand(
    byId(
      'cancel',
      'Cancel an operation in flight; what it did is undone',
      (s, id) => s.idp.operations.cancel(id),
    ),
  );
  ops.addCommand(
    byId(
      'retry',
      'Resume the compensation of an operation that needs attention',
      (s, id) => s.idp.operations.retry(id),
    ),
  );
  ops.addCommand(
    new Command('list')
      .description("A resource's operations, newest first")
      .argument('<ref>', 'name, namespace/name or resource:namespace/name')
      .action(async (raw: string, _o: unknown, command: Command) => {
        const session = await sessionOf(command);
        const items = await session.idp.resources.operations(refArgument(raw));
        print(session.output, { items }, () =>
          table(
            ['ID', 'TYPE', 'STATE', 'BY', 'CREATED'],
            items.map(o => [o.id, o.type, o.state, o.actor, o.createdAt]),
          ),
        );
      }),
  );
  return [ops];
}

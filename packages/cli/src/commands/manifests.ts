import { Plan } from '@idp-multicloud/sdk';
import { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { print, table } from '../format';
import { collect, readStdin, UsageError } from '../params';
import { sessionOf } from '../session';

const show = (v: unknown) => (v === undefined ? '∅' : JSON.stringify(v));

function outcome(plan: Plan, dryRun: boolean): string {
  if (dryRun) return 'Dry run: nothing was written.';
  return plan.commit
    ? `Applied as commit ${plan.commit}.`
    : 'Nothing to change: no commit.';
}

/** A plan as a diff: each object, what happens to it, and each field that changes. */
export function describePlan(plan: Plan, dryRun: boolean): string {
  const sign = {
    create: '+',
    update: '~',
    delete: '-',
    unchanged: '=',
  } as const;
  const lines: string[] = [];
  for (const change of plan.changes) {
    lines.push(
      `${sign[change.action]} ${change.kind} ${change.ref} (${change.action})`,
    );
    for (const f of change.fields) {
      lines.push(`    ${f.path}: ${show(f.before)} → ${show(f.after)}`);
    }
  }
  for (const r of plan.refusals) {
    lines.push(`! refused: ${r.ref}: ${r.message} [${r.code}]`);
  }
  for (const w of plan.warnings ?? []) {
    lines.push(`! warning: ${w.ref}: ${w.message} [${w.code}]`);
  }
  if (plan.breaking) {
    lines.push('', 'Breaking changes:');
    for (const b of plan.breaking.changes) {
      lines.push(`  [${b.code}] ${b.message}`);
    }
    if (plan.breaking.acknowledgementRequired) {
      lines.push(
        '',
        dryRun
          ? 'A product definition breaks: apply needs --acknowledge-breaking. The migration guide:'
          : 'Acknowledged. The migration guide:',
      );
      for (const d of plan.breaking.definitions) {
        if (d.findings.some(f => f.breaking)) lines.push('', d.guide.trimEnd());
      }
    }
  }
  const { create, update, delete: remove, unchanged } = plan.summary;
  lines.push(
    '',
    table(
      ['CREATE', 'UPDATE', 'DELETE', 'UNCHANGED'],
      [[create, update, remove, unchanged]],
    ),
    outcome(plan, dryRun),
  );
  return lines.join('\n');
}

export function manifestCommands(): Command[] {
  const apply = new Command('apply')
    .description(
      'Apply idp.multicloud/v1 manifests (the declarative path): validated, then one commit',
    )
    .requiredOption(
      '-f, --filename <file>',
      "a YAML file of manifests, '-' for stdin (repeatable)",
      collect,
    )
    .option(
      '--dry-run',
      'show the plan (what would change, field by field) and write nothing',
    )
    .option(
      '--prune',
      'also delete the resources of these namespaces that the files leave out',
    )
    .option(
      '--acknowledge-breaking',
      'make the breaking changes of product definitions the plan lists (read them with --dry-run first)',
    )
    .action(async (opts: any, command: Command) => {
      const session = await sessionOf(command);
      const texts = await Promise.all(
        (opts.filename as string[]).map(async f => {
          if (f === '-') return readStdin();
          return readFile(f, 'utf8').catch(error => {
            throw new UsageError(`cannot read ${f}: ${error.message}`);
          });
        }),
      );
      const yaml = texts
        .map(t => t.trim())
        .filter(Boolean)
        .join('\n---\n');
      if (!yaml) throw new UsageError('the files hold no manifests');
      const options = {
        prune: opts.prune,
        acknowledgeBreaking: Boolean(opts.acknowledgeBreaking),
      };
      const plan = opts.dryRun
        ? await session.idp.manifests.plan(yaml, options)
        : await session.idp.manifests.apply(yaml, options);
      print(session.output, plan, () =>
        describePlan(plan, Boolean(opts.dryRun)),
      );
    });
  return [apply];
}

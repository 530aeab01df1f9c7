import { Command } from 'commander';
import { print, table } from '../format';
import { sessionOf } from '../session';

type Origin =
  | { from: 'global'; source: string; product: string; path?: string }
  | { from: 'project'; project: string; definition: string; path: string };

/** Where a field came from, in a few words. */
export function describeOrigin(origin: Origin): string {
  return origin.from === 'global'
    ? `global ${origin.product} (${origin.path ?? origin.source})`
    : `project ${origin.project}: ${origin.path}`;
}

const show = (value: unknown) =>
  typeof value === 'string' ? value : JSON.stringify(value);

/**
 * `idp products show <id> [--project <p>]`: a product's definition, and with a project the
 * effective definition it sees, each field with where it came from.
 */
export function productCommands(): Command[] {
  const products = new Command('products').description(
    'Product definitions: global, and as a project sees them',
  );
  products
    .command('list')
    .description('The global products')
    .action(async (_opts: unknown, command: Command) => {
      const session = await sessionOf(command);
      const items = await session.idp.catalog.products();
      print(session.output, items, () =>
        table(
          ['PRODUCT', 'SOURCE', 'TIERS', 'TITLE'],
          items.map(p => [p.id, p.source, p.tiers.join(','), p.title]),
        ),
      );
    });
  products
    .command('show <id>')
    .description(
      "A product's definition; with --project, the effective definition that project sees, each field with its origin (the global product or the project's file)",
    )
    .option(
      '--project <project>',
      'a project (a namespace): its definitions applied over the global product',
      'default',
    )
    .addHelpText('after', '\n  idp products show mysql --project payments\n')
    .action(async (id: string, opts: { project: string }, command: Command) => {
      const session = await sessionOf(command);
      const definition = await session.idp.projects.product(opts.project, id);
      print(session.output, definition, () =>
        [
          `${definition.id} in project ${definition.project}${
            definition.publish ? ' (published to other projects)' : ''
          }`,
          `chain: ${definition.chain
            .map(o => describeOrigin(o as Origin))
            .join(' → ')}`,
          '',
          table(
            ['FIELD', 'VALUE', 'FROM'],
            definition.fields.map(f => [
              f.path,
              show(f.value),
              describeOrigin(f.origin as Origin),
            ]),
          ),
        ].join('\n'),
      );
    });
  return [products];
}

/** `idp projects compliance <project>`: the project's compliance report. */
export function projectCommands(): Command[] {
  const projects = new Command('projects').description(
    'Projects (namespaces): their compliance and governance',
  );
  projects
    .command('compliance <project>')
    .description(
      "Each compliance rule of a project (its project.yaml's regimes: pci-dss, hipaa, gdpr), for the project and each resource: pass, fail or unverified, with the reason. Exits 1 when a rule fails",
    )
    .addHelpText('after', '\n  idp projects compliance payments -o json\n')
    .action(async (project: string, _opts: unknown, command: Command) => {
      const session = await sessionOf(command);
      const report = await session.idp.projects.compliance(project);
      print(session.output, report, () =>
        [
          `project ${report.project}: ${
            report.declared
              ? `regimes ${report.regimes.join(', ') || 'none'}`
              : 'no projects/<project>/project.yaml: no compliance rules'
          }`,
          `${report.summary.pass} pass, ${report.summary.fail} fail, ${report.summary.unverified} unverified`,
          '',
          table(
            ['RULE', 'SUBJECT', 'STATUS', 'REASON'],
            report.checks.map(c => [c.rule, c.subject, c.status, c.reason]),
          ),
        ].join('\n'),
      );
      if (report.summary.fail > 0) process.exitCode = 1;
    });
  return [projects];
}

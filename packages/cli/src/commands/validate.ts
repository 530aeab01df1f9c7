import type {
  CheckFinding,
  CheckoutReport,
} from '@idp-multicloud/plugin-control-plane-backend';
import { Command, Option } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { table } from '../format';
import { UsageError } from '../params';

/** `idp validate` exit codes (documented in its help and docs/gitops.md). */
export const VALIDATE_EXIT = {
  ok: 0,
  /** Schema, reference, cycle, placement, storage or policy (quota, budget) errors. */
  errors: 1,
  /** The command line was wrong (no such directory, unknown base ref). */
  usage: 2,
  /** No error, but breaking changes, and no --allow-breaking. */
  breaking: 3,
} as const;

export const validateFormats = ['text', 'json', 'github', 'junit'] as const;
export type ValidateFormat = (typeof validateFormats)[number];

/** The exit code of a report. */
export function exitCodeOf(
  report: Pick<CheckoutReport, 'findings'>,
  allowBreaking: boolean,
): number {
  if (report.findings.some(f => f.severity === 'error')) {
    return VALIDATE_EXIT.errors;
  }
  if (!allowBreaking && report.findings.some(f => f.severity === 'breaking')) {
    return VALIDATE_EXIT.breaking;
  }
  return VALIDATE_EXIT.ok;
}

const where = (f: CheckFinding) =>
  [f.file ?? f.ref, f.path].filter(Boolean).join(' ');

const money = (n: number | undefined) =>
  n === undefined ? '' : `$${n.toFixed(2)}`;

/** The report for people. */
export function formatText(
  report: CheckoutReport,
  allowBreaking: boolean,
): string {
  const lines: string[] = [
    `Checked ${report.files} manifest files in ${report.dir}${
      report.base ? ` against ${report.base.slice(0, 12)}` : ''
    }.`,
  ];
  const titles: Record<CheckFinding['check'], string> = {
    schema: 'Schema',
    reference: 'References, cycles, placement',
    policy: 'Policy, quotas and budgets',
    breaking: 'Breaking changes',
  };
  for (const check of ['schema', 'reference', 'policy', 'breaking'] as const) {
    const found = report.findings.filter(f => f.check === check);
    lines.push('', `${found.length ? '✗' : '✓'} ${titles[check]}`);
    for (const f of found) {
      lines.push(
        `    ${where(f)}: ${f.code ? `[${f.code}] ` : ''}${f.message}`,
      );
    }
  }
  if (report.impact.length > 0) {
    lines.push('', 'Other namespaces depend on what changes:');
    for (const i of report.impact) {
      lines.push(`    ${i.ref} ← ${i.dependents.join(', ')}`);
    }
  }
  const changes = report.plan.changes.filter(c => c.action !== 'unchanged');
  if (changes.length > 0) {
    lines.push(
      '',
      table(
        ['CHANGE', 'OBJECT', 'COST BEFORE', 'COST AFTER'],
        changes.map(c => [
          c.action,
          c.ref,
          money(c.cost?.before),
          money(c.cost?.after),
        ]),
      ),
    );
  }
  if (report.plan.cost) {
    const { before, after, delta } = report.plan.cost;
    lines.push(
      '',
      `Monthly cost: ${money(before)} → ${money(after)} (${
        delta >= 0 ? '+' : ''
      }${money(delta)})`,
    );
  }
  const code = exitCodeOf(report, allowBreaking);
  lines.push('', verdict(code));
  return lines.join('\n');
}

/** GitHub Actions workflow commands: one annotation per finding, on its file. */
export function formatGithub(
  report: CheckoutReport,
  allowBreaking: boolean,
): string {
  const data = (s: string) =>
    s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
  const property = (s: string) =>
    data(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
  const lines = report.findings.map(f => {
    const level =
      f.severity === 'breaking' && allowBreaking ? 'warning' : 'error';
    const props = [
      ...(f.file ? [`file=${property(f.file)}`] : []),
      `title=${property(
        `idp validate: ${f.check}${f.code ? ` ${f.code}` : ''}`,
      )}`,
    ].join(',');
    return `::${level} ${props}::${data(
      `${f.ref && !f.message.includes(f.ref) ? `${f.ref} ` : ''}${
        f.path ? `${f.path}: ` : ''
      }${f.message}`,
    )}`;
  });
  for (const i of report.impact) {
    lines.push(
      `::notice title=${property('idp validate: impact')}::${data(
        `${i.ref} is depended on by ${i.dependents.join(', ')}`,
      )}`,
    );
  }
  if (report.plan.cost) {
    lines.push(
      `::notice title=${property('idp validate: cost')}::${data(
        `monthly cost ${money(report.plan.cost.before)} → ${money(
          report.plan.cost.after,
        )}`,
      )}`,
    );
  }
  return lines.join('\n');
}

/** JUnit XML: a test suite per check, a test case per file (or object), failing per finding. */
export function formatJunit(
  report: CheckoutReport,
  allowBreaking: boolean,
): string {
  const xml = (s: string) =>
    s
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      // eslint-disable-next-line no-control-regex
      .replace(/[\x00-\x08\x0b\x0c\x0e-\x1f]/g, '');
  const suites: string[] = [];
  let tests = 0;
  let failures = 0;
  for (const check of ['schema', 'reference', 'policy', 'breaking'] as const) {
    const found = report.findings.filter(
      f => f.check === check && !(f.severity === 'breaking' && allowBreaking),
    );
    const byCase = new Map<string, CheckFinding[]>();
    for (const f of found) {
      const name = f.file ?? f.ref ?? 'state repository';
      byCase.set(name, [...(byCase.get(name) ?? []), f]);
    }
    if (byCase.size === 0) byCase.set('all manifests', []);
    const cases = [...byCase].map(([name, fs]) => {
      const failing = fs.length > 0;
      return `    <testcase classname="idp-validate.${check}" name="${xml(
        name,
      )}"${
        failing
          ? `>\n${fs
              .map(
                f =>
                  `      <failure type="${xml(f.code ?? check)}" message="${xml(
                    `${f.path ? `${f.path}: ` : ''}${f.message}`,
                  )}"/>`,
              )
              .join('\n')}\n    </testcase>`
          : '/>'
      }`;
    });
    const suiteFailures = [...byCase.values()].filter(
      fs => fs.length > 0,
    ).length;
    tests += byCase.size;
    failures += suiteFailures;
    suites.push(
      `  <testsuite name="idp validate: ${check}" tests="${
        byCase.size
      }" failures="${suiteFailures}">\n${cases.join('\n')}\n  </testsuite>`,
    );
  }
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="idp validate" tests="${tests}" failures="${failures}">\n${suites.join(
    '\n',
  )}\n</testsuites>`;
}

const formatters: Record<
  ValidateFormat,
  (report: CheckoutReport, allowBreaking: boolean) => string
> = {
  text: formatText,
  json: (report, allowBreaking) =>
    JSON.stringify(
      { ...report, exitCode: exitCodeOf(report, allowBreaking) },
      null,
      2,
    ),
  github: formatGithub,
  junit: formatJunit,
};

/** The verdict line of the report for people. */
function verdict(code: number): string {
  if (code === VALIDATE_EXIT.ok) return 'Valid.';
  if (code === VALIDATE_EXIT.breaking) {
    return 'Breaking changes: pass --allow-breaking to accept them.';
  }
  return 'Invalid.';
}

export function validateCommands(): Command[] {
  const validate = new Command('validate')
    .description(
      'Check a checkout of the state repository without a server, as the control plane checks a change: schema, references and cycles, policy, quotas and cost, breaking changes against a base, and which other namespaces depend on what changes',
    )
    .argument('[path]', 'the checkout (default: the current directory)', '.')
    .option(
      '--base <ref>',
      'compare with this commit, branch or tag of the checkout (e.g. origin/main): what changes from it is planned, priced, checked by policy and for breaking changes',
    )
    .addOption(
      new Option('--format <format>', 'how to report')
        .choices(validateFormats)
        .default('text'),
    )
    .option('--allow-breaking', 'breaking changes do not fail the check')
    .option(
      '--actor <ref>',
      'who the change is attributed to, for policies',
      'user:default/ci',
    )
    .addHelpText(
      'after',
      '\nExit codes: 0 valid; 1 errors (schema, references, cycles, placement, storage, policy, quotas, budgets); 2 usage error (no such directory, unknown --base); 3 breaking changes and no --allow-breaking.\n\n' +
        '  idp validate\n' +
        '  idp validate state --base origin/main --format github\n' +
        '  idp validate --base main --format junit > idp-validate.xml\n',
    )
    .action(
      async (
        path: string,
        opts: {
          base?: string;
          format: ValidateFormat;
          allowBreaking?: boolean;
          actor: string;
        },
      ) => {
        const dir = resolve(path);
        if (!existsSync(dir) || !statSync(dir).isDirectory()) {
          throw new UsageError(`${path} is not a directory`);
        }
        // Loaded when used (the other commands start without it): the backend's own
        // validation, run here without a server.
        const { validateCheckout } =
          // eslint-disable-next-line @typescript-eslint/no-require-imports
          require('@idp-multicloud/plugin-control-plane-backend') as typeof import('@idp-multicloud/plugin-control-plane-backend');
        let report: CheckoutReport;
        try {
          report = await validateCheckout({
            dir,
            base: opts.base,
            actor: opts.actor,
          });
        } catch (error) {
          const message = (error as Error)?.message ?? String(error);
          if (opts.base && /rev-parse/.test(message)) {
            throw new UsageError(
              `--base ${opts.base}: not a commit of the repository at ${path}`,
            );
          }
          throw error;
        }
        const allow = Boolean(opts.allowBreaking);
        const code = exitCodeOf(report, allow);
        const out = formatters[opts.format](report, allow);
        if (out) process.stdout.write(`${out}\n`);
        process.exitCode = code;
      },
    );
  return [validate];
}

import {
  generateFormats,
  terraformProviders,
} from '@idp-multicloud/plugin-control-plane-common';
import { Argument, Command, Option } from 'commander';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize, sep } from 'node:path';
import { print, table } from '../format';
import { UsageError } from '../params';
import { sessionOf } from '../session';

/** A generated file: where it goes, relative to the output directory. */
export interface FileToWrite {
  path: string;
  content: string;
}

/**
 * Writes `files` under `dir`, refusing a path that would leave it (the server's answer is
 * data, never trusted with the file system) and, unless `force`, one that exists already.
 * Nothing is written when any file is refused.
 */
export async function writeFiles(
  dir: string,
  files: FileToWrite[],
  force = false,
): Promise<string[]> {
  const targets = files.map(f => {
    const relative = normalize(f.path);
    if (
      !f.path ||
      isAbsolute(f.path) ||
      relative === '..' ||
      relative.startsWith(`..${sep}`)
    ) {
      throw new UsageError(`refusing to write ${f.path}: outside ${dir}`);
    }
    return { path: join(dir, relative), content: f.content };
  });
  const existing = targets.filter(t => existsSync(t.path));
  if (!force && existing.length > 0) {
    throw new UsageError(
      `${existing.map(t => t.path).join(', ')} already exist${
        existing.length === 1 ? 's' : ''
      }: pass --force to overwrite, or --out-dir elsewhere`,
    );
  }
  for (const target of targets) {
    await mkdir(dirname(target.path), { recursive: true });
    await writeFile(target.path, target.content);
  }
  return targets.map(t => t.path);
}

export function generateCommands(): Command[] {
  const generate = new Command('generate')
    .description(
      "Write a component's or a project's infrastructure as files: Docker Compose for local development, Kubernetes manifests, Terraform (per provider) or KCL",
    )
    .addArgument(
      new Argument('<format>', 'what to write').choices(generateFormats),
    )
    .option('--component <ref>', "the component's resources, e.g. checkout")
    .option(
      '--project <project>',
      'a project: a catalog System (e.g. payments) with the namespace of that name',
    )
    .addOption(
      new Option(
        '--provider <provider>',
        'terraform: write every resource for this provider',
      ).choices(terraformProviders),
    )
    // -o is every command's output format (table, json, yaml): the directory is -d.
    .option('-d, --out-dir <dir>', 'where to write the files', '.')
    .option('--force', 'overwrite files that exist')
    .addHelpText(
      'after',
      '\n  idp generate compose --component component:default/checkout\n' +
        '  idp generate terraform --project payments --provider gcp -d infra\n',
    )
    .action(async (format: string, opts: any, command: Command) => {
      if (!opts.component === !opts.project) {
        throw new UsageError('give exactly one of --component and --project');
      }
      const session = await sessionOf(command);
      const result = await session.idp.generate(format as any, {
        component: opts.component,
        project: opts.project,
        provider: opts.provider,
      });
      const written = await writeFiles(opts.outDir, result.files, opts.force);
      for (const note of result.notes) process.stderr.write(`note: ${note}\n`);
      print(
        session.output,
        { written, resources: result.resources, notes: result.notes },
        () =>
          table(
            ['WROTE'],
            written.map(path => [path]),
          ),
      );
    });
  return [generate];
}

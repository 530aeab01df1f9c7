/**
 * yarn bench <name> [--repetitions N] [--database sqlite|postgres] [--sizes N,N]: runs
 * bench/scenarios/<name>.ts. For quicker runs while iterating, in the scenarios that take them
 * (write-path): `--database` runs on one database only, `--sizes` at those sizes only.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Benchmark, compare, formatResult } from './harness';

async function main() {
  const args = process.argv.slice(2);
  const available = readdirSync(join(__dirname, 'scenarios'))
    .filter(f => f.endsWith('.ts'))
    .map(f => f.replace(/\.ts$/, ''));
  const options = new Map<string, string>();
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i].startsWith('--')) options.set(args[i].slice(2), args[++i]);
    else positional.push(args[i]);
  }
  const [name] = positional;
  const repetitions = Number(options.get('repetitions') ?? 7);
  const database = options.get('database');
  const sizes = options.get('sizes')?.split(',').map(Number);
  const unknown = [...options.keys()].filter(
    o => !['repetitions', 'database', 'sizes'].includes(o),
  );
  if (!name || !available.includes(name) || unknown.length > 0) {
    process.stderr.write(
      `usage: yarn bench <name> [--repetitions N] [--database sqlite|postgres] [--sizes N,N]\nscenarios: ${available.join(
        ', ',
      )}\n`,
    );
    process.exit(2);
  }
  if (database !== undefined && !['sqlite', 'postgres'].includes(database)) {
    process.stderr.write('--database must be sqlite or postgres\n');
    process.exit(2);
  }
  if (sizes && !sizes.every(n => Number.isInteger(n) && n >= 0)) {
    process.stderr.write(
      '--sizes must be whole numbers ≥ 0, comma-separated\n',
    );
    process.exit(2);
  }
  if (!Number.isInteger(repetitions) || repetitions < 5) {
    process.stderr.write('--repetitions must be a whole number ≥ 5\n');
    process.exit(2);
  }

  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const benchmark: Benchmark = require(`./scenarios/${name}`).default;
  process.stdout.write(
    `bench ${name}: ${benchmark.description} (median of ${repetitions}, interleaved)\n`,
  );
  for await (const comparison of benchmark.comparisons({ database, sizes })) {
    try {
      process.stdout.write(
        `${formatResult(await compare(comparison, repetitions))}\n`,
      );
      for (const line of (await comparison.report?.()) ?? []) {
        process.stdout.write(`${comparison.name}: ${line}\n`);
      }
    } finally {
      await comparison.close();
    }
  }
}

main().catch(error => {
  process.stderr.write(
    `${error?.stack ?? error}\n${
      error?.cause ? `caused by: ${error.cause?.stack ?? error.cause}\n` : ''
    }`,
  );
  process.exit(1);
});

/**
 * yarn bench <name> [--repetitions N]: runs bench/scenarios/<name>.ts.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Benchmark, compare, formatResult } from './harness';

async function main() {
  const args = process.argv.slice(2);
  const available = readdirSync(join(__dirname, 'scenarios'))
    .filter(f => f.endsWith('.ts'))
    .map(f => f.replace(/\.ts$/, ''));
  const name = args.find(a => !a.startsWith('-'));
  const repIndex = args.indexOf('--repetitions');
  const repetitions = repIndex >= 0 ? Number(args[repIndex + 1]) : 7;
  if (!name || !available.includes(name)) {
    process.stderr.write(
      `usage: yarn bench <name> [--repetitions N]\nscenarios: ${available.join(
        ', ',
      )}\n`,
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
  for await (const comparison of benchmark.comparisons()) {
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

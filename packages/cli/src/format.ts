import { stringify } from 'yaml';

/** The output formats every command offers. */
export const outputFormats = ['table', 'json', 'yaml'] as const;
export type OutputFormat = (typeof outputFormats)[number];

/** Aligned columns with a header, as kubectl prints them. */
export function table(headers: string[], rows: unknown[][]): string {
  const text = rows.map(row =>
    row.map(cell => (cell === undefined || cell === null ? '' : String(cell))),
  );
  const widths = headers.map((h, i) =>
    Math.max(h.length, ...text.map(row => row[i]?.length ?? 0)),
  );
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('   ')
      .trimEnd();
  return [line(headers), ...text.map(line)].join('\n');
}

/** `key   value` lines, for one object. */
export function fields(pairs: [string, unknown][]): string {
  const shown = pairs.filter(
    ([, v]) => v !== undefined && v !== null && v !== '',
  );
  const width = Math.max(0, ...shown.map(([k]) => k.length));
  return shown
    .map(
      ([k, v]) =>
        `${k.padEnd(width)}   ${typeof v === 'object' ? JSON.stringify(v) : v}`,
    )
    .join('\n');
}

/** Writes a value in the chosen format; `human` renders the table form. */
export function print(
  format: OutputFormat,
  value: unknown,
  human: () => string,
) {
  let text: string;
  if (format === 'json') text = JSON.stringify(value, null, 2);
  else if (format === 'yaml') text = stringify(value).trimEnd();
  else text = human();
  process.stdout.write(`${text}\n`);
}

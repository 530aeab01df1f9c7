import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolvePackagePath } from '@backstage/backend-plugin-api';
import { readPriceFiles } from '../scheduling/pricing';
import { parseYamlDocuments, parseYamlFile } from './yaml';

const bomb = [
  'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
  ...Array.from(
    { length: 8 },
    (_, i) => `a${i + 1}: &a${i + 1} [${Array(9).fill(`*a${i}`).join(',')}]`,
  ),
].join('\n');

describe('YAML with limits', () => {
  it.each([
    ['an alias bomb', bomb, /invalid YAML: Excessive alias count/],
    [
      'more aliases than allowed',
      `a: &a x\nb: [${Array(101).fill('*a').join(',')}]`,
      /too many aliases: 101, at most 100/,
    ],
    [
      'nesting past the limit',
      `a: ${'['.repeat(70)}${']'.repeat(70)}`,
      /nested too deep/,
    ],
    [
      'a text too large',
      `a: ${'x'.repeat(1024 * 1024)}`,
      /too large: \d+ bytes/,
    ],
    ['a syntax error', 'a: [b', /invalid YAML/],
  ])(
    'reports %s as a document that is not ok, without throwing',
    (_name, text, message) => {
      const docs = parseYamlDocuments(text);
      expect(docs).toEqual([
        { ok: false, message: expect.stringMatching(message) },
      ]);
    },
  );

  it('reads what stays within the limits', () => {
    expect(parseYamlDocuments('a: &x 1\nb: *x\n---\n- 2\n')).toEqual([
      { ok: true, value: { a: 1, b: 1 } },
      { ok: true, value: [2] },
    ]);
    expect(parseYamlFile('a: 1', 'f.yaml')).toEqual({ a: 1 });
  });

  it('a price file with an alias bomb fails the start naming the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'idp-prices-'));
    try {
      cpSync(
        resolvePackagePath(
          '@idp-multicloud/plugin-control-plane-backend',
          'pricing',
        ),
        dir,
        { recursive: true },
      );
      writeFileSync(join(dir, 'aws.yaml'), bomb);
      expect(() => readPriceFiles(dir)).toThrow(
        /^price table aws\.yaml: invalid YAML: Excessive alias count/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

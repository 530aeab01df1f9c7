import fs from 'node:fs';
import path from 'node:path';
import { GeneratedFile } from '@idp-multicloud/plugin-control-plane-common';

const root = path.resolve(__dirname, '..', '__golden__');

/**
 * Compares generated files with the golden files under `__golden__/<name>/`, the same
 * files and the same bytes. `UPDATE_GOLDEN=1` rewrites them instead: read the diff before
 * committing it.
 */
export function expectGolden(name: string, files: GeneratedFile[]) {
  const dir = path.join(root, name);
  if (process.env.UPDATE_GOLDEN === '1') {
    fs.rmSync(dir, { recursive: true, force: true });
    for (const file of files) {
      fs.mkdirSync(path.dirname(path.join(dir, file.path)), {
        recursive: true,
      });
      fs.writeFileSync(path.join(dir, file.path), file.content);
    }
  }
  const golden = (fs.readdirSync(dir, { recursive: true }) as string[])
    .filter(p => fs.statSync(path.join(dir, p)).isFile())
    .sort();
  expect(files.map(f => f.path).sort()).toEqual(golden);
  for (const file of files) {
    expect(`${file.path}:\n${file.content}`).toBe(
      `${file.path}:\n${fs.readFileSync(path.join(dir, file.path), 'utf8')}`,
    );
  }
}

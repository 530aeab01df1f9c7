import { resolve } from 'node:path';

/** The root of the repository. */
// Test code, never bundled: __dirname is this source file's directory.
// eslint-disable-next-line no-restricted-syntax
export const repoRoot = resolve(__dirname, '../../../..');

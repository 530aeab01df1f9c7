import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './paths';

/**
 * Makes sure packages/app/dist exists, which the backend's app plugin serves. CI builds every
 * package before the tests; locally this builds the app when it has never been built
 * (IDP_E2E_BUILD_APP=1 rebuilds it anyway).
 */
export function ensureAppBuilt() {
  const index = join(repoRoot, 'packages/app/dist/index.html');
  if (existsSync(index) && process.env.IDP_E2E_BUILD_APP !== '1') {
    return;
  }
  const build = spawnSync('yarn', ['workspace', 'app', 'build'], {
    cwd: repoRoot,
    encoding: 'utf8',
    env: { ...process.env, NODE_ENV: 'production' },
  });
  if (build.status !== 0 || !existsSync(index)) {
    throw new Error(
      `Building packages/app failed (${build.status}):\n${build.stdout}\n${build.stderr}`,
    );
  }
}

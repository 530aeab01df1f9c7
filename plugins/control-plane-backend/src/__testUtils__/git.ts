import { execFileSync } from 'node:child_process';

/** Runs git in `cwd` as Carla Ops, a person pushing by hand; its output, trimmed. */
export const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', args, {
    cwd,
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'Carla Ops',
      GIT_AUTHOR_EMAIL: 'carla@example.com',
      GIT_COMMITTER_NAME: 'Carla Ops',
      GIT_COMMITTER_EMAIL: 'carla@example.com',
    },
    maxBuffer: 16 * 1024 * 1024,
  })
    .toString()
    .trim();

import { spawn } from 'node:child_process';

/** A failed git command, with what it printed. */
export class GitCommandError extends Error {
  constructor(
    readonly args: string[],
    readonly code: number | null,
    readonly stderr: string,
  ) {
    super(`git ${args.join(' ')} failed (${code}): ${stderr.trim()}`);
    this.name = 'GitCommandError';
  }
}

export interface GitRunOptions {
  cwd: string;
  input?: string | Buffer;
  env?: Record<string, string>;
}

/** Runs git and returns its stdout as a Buffer; rejects with GitCommandError. */
export function runGit(
  args: string[],
  options: GitRunOptions,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, {
      cwd: options.cwd,
      env: {
        ...process.env,
        // Never read the user's or system's git configuration, never prompt.
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_CONFIG_GLOBAL: '/dev/null',
        GIT_TERMINAL_PROMPT: '0',
        LC_ALL: 'C',
        ...options.env,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', chunk => out.push(chunk));
    child.stderr.on('data', chunk => err.push(chunk));
    child.on('error', reject);
    child.on('close', code => {
      if (code === 0) {
        resolve(Buffer.concat(out));
      } else {
        reject(
          new GitCommandError(args, code, Buffer.concat(err).toString('utf8')),
        );
      }
    });
    child.stdin.on('error', () => {
      // git may exit before reading all input; its exit code tells what happened.
    });
    child.stdin.end(options.input ?? '');
  });
}

/** Runs git and returns its trimmed stdout as a string. */
export async function git(
  args: string[],
  options: GitRunOptions,
): Promise<string> {
  return (await runGit(args, options)).toString('utf8').trim();
}

/**
 * Objects read with one `git cat-file --batch`: each one's type and content, by SHA (or any
 * name git resolves), in the order asked. A missing object is an error naming it.
 */
export async function catFileBatch(
  cwd: string,
  names: string[],
): Promise<Map<string, { type: string; body: Buffer }>> {
  const objects = new Map<string, { type: string; body: Buffer }>();
  if (names.length === 0) return objects;
  const output = await runGit(['cat-file', '--batch'], {
    cwd,
    input: `${names.join('\n')}\n`,
  });
  let offset = 0;
  for (const name of names) {
    const headerEnd = output.indexOf(0x0a, offset);
    // `<sha> <type> <size>`, or `<name> missing`
    const [, type, size] = output
      .subarray(offset, headerEnd)
      .toString('utf8')
      .split(' ');
    if (type === 'missing') {
      throw new GitCommandError(['cat-file', name], 128, `${name} missing`);
    }
    const start = headerEnd + 1;
    const end = start + Number(size);
    objects.set(name, { type, body: output.subarray(start, end) });
    offset = end + 1;
  }
  return objects;
}

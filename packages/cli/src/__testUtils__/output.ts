import { main } from '../main';

/**
 * What a command run in-process (`main([...])`) writes: captures stdout and stderr from
 * `beforeEach` until `afterEach`, and resets the exit code around each test.
 */
export function captureOutput() {
  const out = { stdout: '', stderr: '' };
  beforeEach(() => {
    out.stdout = '';
    out.stderr = '';
    jest.spyOn(process.stdout, 'write').mockImplementation(chunk => {
      out.stdout += String(chunk);
      return true;
    });
    jest.spyOn(process.stderr, 'write').mockImplementation(chunk => {
      out.stderr += String(chunk);
      return true;
    });
    process.exitCode = undefined;
  });
  afterEach(() => {
    jest.restoreAllMocks();
    process.exitCode = undefined;
  });
  return out;
}

/**
 * Runs `idp` in-process against a control plane as `user`, each call with its own output
 * (`out` emptied first) and exit code, which it returns.
 */
export function idpAgainst(
  out: { stdout: string; stderr: string },
  server: () => { baseUrl: string; tokenFor(user: string): string },
  user: string,
) {
  return async (...args: string[]): Promise<number> => {
    out.stdout = '';
    out.stderr = '';
    process.exitCode = undefined;
    const { baseUrl, tokenFor } = server();
    await main([
      'node',
      'idp',
      '--server',
      baseUrl,
      '--token',
      tokenFor(user),
      ...args,
    ]);
    return process.exitCode ?? 0;
  };
}

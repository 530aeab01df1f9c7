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

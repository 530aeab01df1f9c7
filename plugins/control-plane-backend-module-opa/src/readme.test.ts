import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  examplePolicy,
  exampleInput,
  exampleOperationInput,
} from './__testUtils__/examples';

/** The README documents the input document and the example policy: keep it honest. */
describe('README', () => {
  const readme = readFileSync(resolve(__dirname, '../README.md'), 'utf8');
  const jsonAfter = (heading: string, nth = 0) => {
    const section = readme.slice(readme.indexOf(heading));
    const blocks = [...section.matchAll(/```json\n([\s\S]*?)```/g)];
    return JSON.parse(blocks[nth][1]);
  };

  it('shows the input document the tests use', () => {
    expect(jsonAfter('## The input document')).toEqual(exampleInput());
  });

  it('shows the input document of an operation the tests use', () => {
    expect(jsonAfter('### An operation')).toEqual(exampleOperationInput());
  });

  it("shows the example policy's answer to an input over the team's quota", () => {
    const answer = jsonAfter('## An example policy');
    const [quota] = exampleInput().quotas;
    const { allow, deny } = examplePolicy(
      exampleInput({
        quotas: [
          { ...quota, request: { ...quota.request, monthlyCost: 1500 } },
        ],
      }),
    );
    expect(answer.result.allow).toBe(allow);
    expect(answer.result.deny).toEqual(deny);
  });

  it('documents every key of config.d.ts', () => {
    const schema = readFileSync(resolve(__dirname, '../config.d.ts'), 'utf8');
    const keys = [...schema.matchAll(/^ {6}(\w+)\?:/gm)].map(m => m[1]);
    expect(keys).toEqual([
      'baseUrl',
      'policyPath',
      'token',
      'timeout',
      'failureMode',
    ]);
    for (const key of keys) {
      expect(readme).toContain(`\`controlPlane.opa.${key}\``);
    }
  });
});

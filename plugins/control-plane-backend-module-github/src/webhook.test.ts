import { createHmac } from 'node:crypto';
import { verifySignature } from './webhook';

const body = Buffer.from('{"action":"submitted","pull_request":{"number":1}}');
const sign = (secret: string, b: Buffer) =>
  `sha256=${createHmac('sha256', secret).update(b).digest('hex')}`;

describe('verifySignature', () => {
  it.each([
    ['the signature of the body under the secret', sign('s3cret', body), true],
    ['a signature under another secret', sign('other', body), false],
    ['the signature of another body', sign('s3cret', Buffer.from('{}')), false],
    [
      'a SHA-1 signature',
      `sha1=${createHmac('sha1', 's3cret').update(body).digest('hex')}`,
      false,
    ],
    ['no signature', undefined, false],
    ['a truncated signature', sign('s3cret', body).slice(0, 20), false],
  ])('%s: %s', (_, signature, valid) => {
    expect(verifySignature('s3cret', body, signature)).toBe(valid);
  });
});

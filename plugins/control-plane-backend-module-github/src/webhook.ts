import express from 'express';
import Router from 'express-promise-router';
import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Whether `signature` (the `X-Hub-Signature-256` header, `sha256=<hex>`) is GitHub's HMAC-SHA256
 * of the delivery's raw body under the webhook secret; compared in constant time.
 */
export function verifySignature(
  secret: string,
  body: Buffer,
  signature: string | undefined,
): boolean {
  if (!signature?.startsWith('sha256=')) return false;
  const expected = Buffer.from(
    `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
  );
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The events that move a proposal on: a pull request closed or merged, a review. */
const relevant = new Set(['pull_request', 'pull_request_review', 'check_run']);

/**
 * `POST /github/webhook` (under the control plane's API): a delivery with a valid signature
 * about a pull request or a review makes the control plane look at open proposals; one
 * without a valid signature is refused with 401 and changes nothing.
 */
export function webhookRouter(options: {
  secret?: string;
  onEvent: (event: string) => void;
}): express.Router {
  const router = Router();
  router.post(
    '/github/webhook',
    express.raw({ type: () => true, limit: '25mb' }),
    (req, res) => {
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      if (
        !options.secret ||
        !verifySignature(
          options.secret,
          body,
          req.header('x-hub-signature-256'),
        )
      ) {
        res.status(401).json({
          error: {
            name: 'AuthenticationError',
            message:
              'The webhook delivery is not signed with the configured secret',
          },
        });
        return;
      }
      const event = req.header('x-github-event') ?? '';
      if (relevant.has(event)) options.onEvent(event);
      res.status(202).json({ accepted: relevant.has(event) });
    },
  );
  return router;
}

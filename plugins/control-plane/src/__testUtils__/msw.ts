import { Schemas } from '@idp-multicloud/sdk';
import { HttpResponse, JsonBodyType } from 'msw';

/**
 * An answer of the control plane in a component test, its body type-checked against the API
 * schema it names (the SDK's types, generated from the OpenAPI document the backend is built
 * on): a fixture of a shape the backend never sends does not compile.
 */
export function reply<K extends keyof Schemas>(
  _schema: K,
  body: Schemas[K],
  init?: ResponseInit,
) {
  return HttpResponse.json(body as JsonBodyType, init);
}

/** An error as the backend answers it (`@backstage/errors`' serialisation). */
export function replyError(status: number, name: string, message: string) {
  return reply(
    'ErrorResponse',
    { error: { name, message }, response: { statusCode: status } },
    { status },
  );
}

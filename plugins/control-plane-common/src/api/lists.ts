import { z } from 'zod';

/**
 * A list answer: its items, named `id` in the OpenAPI document.
 * @internal
 */
export const listOf = <T extends z.ZodType>(item: T, id: string) =>
  z.object({ items: z.array(item) }).meta({ id });

/**
 * A text a list is filtered by (a query parameter): at most 255 characters, and no control
 * characters, which no stored name holds (and a NUL is not text PostgreSQL can compare).
 * @internal
 */
export const filterTextSchema = z
  .string()
  .max(255)
  // eslint-disable-next-line no-control-regex
  .regex(/^[^\u0000-\u001f\u007f]*$/, 'must not contain control characters');

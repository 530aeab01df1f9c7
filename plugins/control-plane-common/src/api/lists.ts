import { z } from 'zod';

/**
 * A list answer: its items, named `id` in the OpenAPI document.
 * @internal
 */
export const listOf = <T extends z.ZodType>(item: T, id: string) =>
  z.object({ items: z.array(item) }).meta({ id });

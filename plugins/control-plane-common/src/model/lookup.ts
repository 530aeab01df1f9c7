/*
 * A name from outside (a request, a manifest, config) is a key, never a property: a plain
 * object answers `constructor`, `__proto__`, `toString` and the rest of Object.prototype for
 * any name it does not hold. These look a name up among an object's own keys only.
 */

/**
 * Whether `key` is one of the object's own keys (never one it inherits, such as
 * `constructor` or `__proto__`).
 * @public
 */
export function hasOwnKey<T extends object>(
  record: T,
  key: PropertyKey,
): key is keyof T {
  return Object.hasOwn(record, key);
}

/**
 * The value the object holds under `key` as its own, or undefined: never an inherited
 * property such as `constructor`, `__proto__` or `toString`.
 * @public
 */
export function ownValue<V>(
  record: Readonly<Record<string, V>> | undefined,
  key: string,
): V | undefined {
  return record && Object.hasOwn(record, key) ? record[key] : undefined;
}

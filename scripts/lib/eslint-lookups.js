/*
 * A name from outside (a request, a manifest, config) is a key, never a property: these
 * `no-restricted-syntax` patterns keep lookups by name to a `Map`, or to `ownValue` /
 * `hasOwnKey` of @idp-multicloud/plugin-control-plane-common (Object.hasOwn), so that
 * `constructor`, `__proto__` or `toString` never select something that is not there.
 * Each package's .eslintrc.js passes them as the factory's `restrictedSyntax`.
 */
module.exports = [
  {
    selector:
      'MemberExpression[computed=true] > TSAsExpression.property > TSTypeOperator[operator="keyof"]',
    message:
      'A name used as `x[name as keyof typeof x]` also finds constructor, __proto__, toString...: use a Map, or ownValue(x, name) / hasOwnKey(x, name) from @idp-multicloud/plugin-control-plane-common.',
  },
  {
    selector: 'BinaryExpression[operator="in"][left.type!="Literal"]',
    message:
      '`name in x` is true for constructor, __proto__, toString...: use a Map, or hasOwnKey(x, name) from @idp-multicloud/plugin-control-plane-common.',
  },
];

module.exports = require('@backstage/cli/config/eslint-factory')(__dirname, {
  // Lookups by name go through a Map or Object.hasOwn (scripts/lib/eslint-lookups.js).
  restrictedSyntax: require('../../scripts/lib/eslint-lookups'),
});

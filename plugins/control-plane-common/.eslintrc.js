// -common is the bottom of the suite: it imports nothing of ours.
module.exports = require('@backstage/cli/config/eslint-factory')(__dirname, {
  restrictedImportPatterns: ['@idp-multicloud/*'],
  // Lookups by name go through a Map or Object.hasOwn (scripts/lib/eslint-lookups.js).
  restrictedSyntax: require('../../scripts/lib/eslint-lookups'),
});

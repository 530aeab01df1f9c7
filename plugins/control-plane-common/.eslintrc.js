// -common is the bottom of the suite: it imports nothing of ours.
module.exports = require('@backstage/cli/config/eslint-factory')(__dirname, {
  restrictedImportPatterns: ['@idp-multicloud/*'],
});

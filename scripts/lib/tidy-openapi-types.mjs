// Makes openapi-typescript's output fit the SDK's API report: a release tag on each exported
// declaration, and TSDoc instead of JSDoc (`@description` becomes plain text, `@enum` goes).
import { readFileSync, writeFileSync } from 'node:fs';

const file = process.argv[2];
const text = readFileSync(file, 'utf8')
  .replace(/^export (interface|type) /gm, '/** @public */\nexport $1 ')
  .replace(/^\s*\/\*\* @enum \{[^}]*\} \*\/\n/gm, '')
  .replace(/^(\s*)\* @enum \{[^}]*\}\n/gm, '')
  .replace(/@description /g, '')
  .replace(
    /@default (.*?)( \*\/)?$/gm,
    (_m, value, end) =>
      `default: ${value.replace(/[{}]/g, c => `\\${c}`)}${end ?? ''}`,
  )
  .replace(/\/\*\* @deprecated \*\//g, '/** @deprecated */');
writeFileSync(file, text);

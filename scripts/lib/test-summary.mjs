// Reads jest's --json output and prints what CI reads: which databases the store tests ran on,
// then a last line `N passed, N failed, N skipped`. Exits non-zero when a test failed, a suite
// could not run, no test ran at all, or store tests ran on SQLite but not on PostgreSQL.
import { readFileSync } from 'node:fs';

let report;
try {
  report = JSON.parse(readFileSync(process.argv[2], 'utf8'));
} catch {
  console.log('jest wrote no report: the test run did not start');
  console.log('0 passed, 0 failed');
  process.exit(1);
}

const byDatabase = new Map();
for (const suite of report.testResults) {
  for (const test of suite.assertionResults) {
    const match = [...test.ancestorTitles, test.title]
      .join(' ')
      .match(/\b(SQLITE_3|POSTGRES_\d+|MYSQL_\d+)\b/);
    if (match && test.status === 'passed') {
      byDatabase.set(match[1], (byDatabase.get(match[1]) ?? 0) + 1);
    }
  }
}

const problems = [];
if (report.numTotalTests === 0) problems.push('no test ran');
if (report.numRuntimeErrorTestSuites > 0) {
  problems.push(
    `${report.numRuntimeErrorTestSuites} test suite(s) failed to run`,
  );
}
const postgres = [...byDatabase].filter(([id]) => id.startsWith('POSTGRES'));
if (byDatabase.has('SQLITE_3') && postgres.length === 0) {
  problems.push('store tests ran on SQLite but not on PostgreSQL');
}

console.log('');
console.log(
  `store tests by database: ${
    [...byDatabase].map(([id, n]) => `${id} ${n}`).join(', ') || 'none'
  }`,
);
for (const problem of problems) console.log(`problem: ${problem}`);
console.log(
  `${report.numPassedTests} passed, ${report.numFailedTests} failed, ${report.numPendingTests} skipped`,
);
process.exit(problems.length > 0 || !report.success ? 1 : 0);

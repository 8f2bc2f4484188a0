#!/usr/bin/env tsx
// The runbook's "un seul script TypeScript" for 0001: count, mutate, count, check, in one
// transaction. `make migrate-0001` runs it as one step; it also runs alone.
import { writeFileSync } from 'node:fs';
import { main } from '../bin/lib/cli.js';
import { connectionTarget } from '../bin/lib/config.js';
import { withSql } from '../bin/lib/db.js';
import { loadMigration } from '../bin/lib/migration.js';
import { verify } from './verifier.js';

await main({
  name: 'verify 0001',
  usage: 'usage: tsx verify/0001_migrate_user_to_employee.ts [--dry-run] [--report FILE]',
  help: `
In one transaction on DATABASE_URL: lock "User" against writes (lock_timeout LOCK_TIMEOUT,
default 10s), count rows per role, set every USER to EMPLOYEE, count again, and check (SQL in
sql/0001/invariants.sql): no USER left; EMPLOYEE after = EMPLOYEE before + USER before; rows
updated = USER before; ADMIN, MANAGER and total unchanged; (id, email) unchanged.
A failed check rolls back and exits 1 with the numbers. --dry-run does everything and rolls back.
--report FILE writes the JSON report there. Needs the expand step applied (EMPLOYEE must exist).
Exit codes: 0 committed (or dry run passed), 1 check failed or error (rolled back), 2 bad input,
3 unreachable.`,
  async run(argv) {
    const dryRun = argv.includes('--dry-run');
    const ri = argv.indexOf('--report');
    const report = await withSql(await connectionTarget('verify'), (sql) =>
      verify(sql, loadMigration('0001'), { dryRun, lockTimeout: process.env.LOCK_TIMEOUT, log: (l) => console.log(l) }),
    );
    for (const c of report.checks) console.log(`  ok  ${c.check}: ${c.actual}`);
    if (ri >= 0) writeFileSync(argv[ri + 1], JSON.stringify(report, null, 2) + '\n', { mode: 0o600 });
    console.log(`verify 0001: ${report.updated} USER → EMPLOYEE, ${report.checks.length} checks passed, ${dryRun ? 'rolled back (dry run)' : 'committed'}`);
  },
});

#!/usr/bin/env tsx
// The runbook's "un seul script TypeScript" for 0001 (make verify-0001 is the same): count, map
// USER to EMPLOYEE in every column of "Role", count, check, in one transaction.
import { main } from '../bin/lib/cli/cli.js';
import { runVerifyCli, VERIFY_HELP } from './verify.js';

await main({
  name: 'verify 0001',
  usage: 'usage: tsx verify/0001_migrate_user_to_employee.ts [--dry-run] [--report FILE]',
  help: `${VERIFY_HELP}
For 0001 (migrations/0001/): every table with a column of "Role" or "Role"[] is locked and counted in one
scan per table; USER becomes EMPLOYEE in every such column; each column is checked (no USER left;
EMPLOYEE after = EMPLOYEE before + USER before; other labels unchanged; rows updated = rows that
held USER) and each table (rows and every row's identity unchanged).`,
  run: (argv) => runVerifyCli('0001', argv),
});

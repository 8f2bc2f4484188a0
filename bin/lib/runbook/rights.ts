// The rights a run needs, checked in the catalog before anything changes (sql/preflight_rights.sql):
// ownership of the type and of every table the contract alters, the toolkit's schema and tables,
// the guard's ALTER DATABASE and its right to end the app's sessions, and row-level security that
// would hide rows; and those its dump and restore need (sql/preflight_way_back.sql): the owners'
// of the app's other objects, a superuser's for some. A fault refuses, exit 2.
import { readEnumSpec } from '../enum/enum-spec.js';
import { readSql } from '../connection/config.js';
import type { Sql } from '../connection/db.js';
import { Refusal } from '../connection/refusal.js';
import { sessionsPrecheck } from '../maintenance/guard.js';

export interface RightsProblem {
  code: 'preflight.rls' | 'preflight.privilege';
  problem: string;
}

/** The enum type a migration changes, from its enum.json (checked); undefined for other migrations. */
export function migrationEnumType(id: string): string | undefined {
  return readEnumSpec(id)?.type;
}

export async function rightsProblems(
  sql: Sql,
  enumType: string | undefined,
  dbGuard: boolean,
): Promise<RightsProblem[]> {
  const rows = [
    ...(await sql.unsafe(readSql('preflight_rights.sql'), [enumType ?? null, dbGuard])),
    ...(await sql.unsafe(readSql('preflight_way_back.sql'), [enumType ?? null])),
  ];
  return rows.map((r) => ({ code: r.code as RightsProblem['code'], problem: String(r.problem) }));
}

export class RightsRefusal extends Refusal {
  constructor(
    readonly problems: RightsProblem[],
    command: string,
  ) {
    super(
      `${command}: preflight: ${problems.map((p) => p.problem).join('; ')}.`,
      'Nothing was changed; maintenance was not turned on. Give the role each right named, or run as the owner.',
      2,
    );
  }
}

/** Refuses, naming every missing right, before the run changes anything. */
export async function checkRights(sql: Sql, id: string, dbGuard: boolean): Promise<void> {
  const problems = await rightsProblems(sql, migrationEnumType(id), dbGuard);
  if (dbGuard) {
    // The guard ends the database's other sessions: another role's needs that role's rights.
    const { problem } = await sessionsPrecheck(sql);
    if (problem) problems.push({ code: 'preflight.privilege', problem });
  }
  if (problems.length) throw new RightsRefusal(problems, `migrate-${id}`);
}

// What a dump's <dump>.manifest.json holds: the facts restore checks the database against.
export interface Manifest {
  database: string;
  serverVersion: string;
  pgDumpVersion: string;
  createdAt: string;
  file: string;
  bytes: number;
  sha256: string;
  tables: Record<string, number>;
  writes?: Record<string, number>; // sql/table_writes.sql at the dump: restore measures writes since
}

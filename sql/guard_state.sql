-- Is the maintenance guard on for this database? (its per-database default, from the catalog)
SELECT current_database() AS database,
       EXISTS (
         SELECT 1 FROM pg_db_role_setting s, unnest(s.setconfig) AS c
         WHERE s.setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
           AND s.setrole = 0 AND c = 'default_transaction_read_only=on'
       ) AS read_only;

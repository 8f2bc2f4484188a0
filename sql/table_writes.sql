-- Rows inserted, updated and deleted per table since the statistics were last reset, as the
-- cumulative statistics system counts them (pg_stat_user_tables; flushed about once a second, and
-- zeroed by a crash or pg_stat_reset()). A dump's manifest keeps these; restore subtracts them from
-- the current ones to say how many writes a restore would throw away.
SELECT format('%I.%I', schemaname, relname) AS name,
       n_tup_ins + n_tup_upd + n_tup_del AS writes
FROM pg_stat_user_tables
ORDER BY 1;

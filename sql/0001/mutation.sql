-- The data change of migration 0001: every USER becomes EMPLOYEE. Nothing else changes.
UPDATE "User" SET role = 'EMPLOYEE' WHERE role = 'USER';

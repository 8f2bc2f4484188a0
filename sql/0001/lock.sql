-- Stop concurrent writes to "User" until the mutation's transaction ends; reads go on.
-- The caller sets lock_timeout, so a long transaction holding "User" makes us fail fast
-- instead of queueing every query of the site behind us.
LOCK TABLE "User" IN EXCLUSIVE MODE;

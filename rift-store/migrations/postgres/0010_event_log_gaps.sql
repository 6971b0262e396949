-- Fan-out gaps (src/postgres/fanout.rs): how many of the sending node's events were lost for the
-- other nodes (its outbox was full, or a batch could not be written) just before this row. A
-- receiving node that reads a non-zero gap ends every local session's stream (they resync).
ALTER TABLE event_log ADD COLUMN gap BIGINT NOT NULL DEFAULT 0;

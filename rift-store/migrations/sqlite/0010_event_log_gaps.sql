-- The PostgreSQL fan-out's gap count (migrations/postgres/0010_event_log_gaps.sql), here only so
-- both backends keep the same numbering and table shapes: nothing writes SQLite's event_log.
ALTER TABLE event_log ADD COLUMN gap INTEGER NOT NULL DEFAULT 0;

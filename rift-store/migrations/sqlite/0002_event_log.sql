-- The PostgreSQL fan-out's event log (migrations/postgres/0002_event_log.sql), here only so both
-- backends keep the same numbering and table names: a SQLite file belongs to one process, whose
-- fan-out is local (rift::fanout::LocalFanOut), so nothing writes this table.
CREATE TABLE event_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    node_id BLOB NOT NULL,
    payload TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

-- Pins: a pinned message carries when and by whom it was pinned; the pinned list of a channel
-- reads the small partial index, newest pin first.
ALTER TABLE messages ADD COLUMN pinned_at INTEGER;
ALTER TABLE messages ADD COLUMN pinned_by BLOB;
CREATE INDEX messages_pinned_idx ON messages (channel_id, pinned_at) WHERE pinned_at IS NOT NULL;

-- Deleted messages are outside the text index; `is:deleted` searches and retention purges read
-- them through this partial index instead of walking a channel.
CREATE INDEX messages_deleted_idx ON messages (channel_id, deleted_at) WHERE deleted_at IS NOT NULL;

-- Who may see earlier versions of messages (`edits`) and the content of deleted messages
-- (`deletes`) in a server, and after how many days they are purged (NULL: kept forever).
-- A server without a row has the defaults: edits 'everyone', deletes 'moderators', no purge.
CREATE TABLE server_history_settings (
    server_id      BLOB PRIMARY KEY NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    edits          TEXT NOT NULL CHECK (edits IN ('nobody', 'moderators', 'everyone')),
    deletes        TEXT NOT NULL CHECK (deletes IN ('nobody', 'moderators', 'everyone')),
    retention_days INTEGER,
    updated_at     INTEGER NOT NULL
);

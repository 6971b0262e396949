-- Rift schema, SQLite dialect. Ids are 16-byte UUID blobs (byte order = id order), timestamps are
-- INTEGER unix microseconds (the precision PostgreSQL keeps), permissions are INTEGER bit sets.
-- Keep table and column names identical to migrations/postgres: the queries are shared.

CREATE TABLE users (
    id               BLOB PRIMARY KEY NOT NULL,
    username         TEXT NOT NULL,
    display_name     TEXT NOT NULL,
    email            TEXT,
    password_hash    TEXT,
    avatar_url       TEXT,
    status           TEXT NOT NULL DEFAULT 'online',
    bridge_source    TEXT,
    bridge_remote_id TEXT,
    created_at       INTEGER NOT NULL
);
CREATE UNIQUE INDEX users_username_key ON users (lower(username));
CREATE UNIQUE INDEX users_email_key ON users (lower(email)) WHERE email IS NOT NULL;
CREATE UNIQUE INDEX users_bridge_key ON users (bridge_source, bridge_remote_id) WHERE bridge_source IS NOT NULL;

CREATE TABLE servers (
    id               BLOB PRIMARY KEY NOT NULL,
    name             TEXT NOT NULL,
    icon_url         TEXT,
    owner_id         BLOB NOT NULL REFERENCES users (id),
    bridge_source    TEXT,
    bridge_remote_id TEXT,
    created_at       INTEGER NOT NULL
);
CREATE UNIQUE INDEX servers_bridge_key ON servers (bridge_source, bridge_remote_id) WHERE bridge_source IS NOT NULL;

CREATE TABLE members (
    server_id BLOB NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    user_id   BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    nickname  TEXT,
    joined_at INTEGER NOT NULL,
    PRIMARY KEY (server_id, user_id)
);
CREATE INDEX members_user_idx ON members (user_id);

CREATE TABLE roles (
    id               BLOB PRIMARY KEY NOT NULL,
    server_id        BLOB NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    name             TEXT NOT NULL,
    color            INTEGER NOT NULL DEFAULT 0,
    position         INTEGER NOT NULL,
    permissions      INTEGER NOT NULL,
    bridge_source    TEXT,
    bridge_remote_id TEXT,
    -- Positions are unique per server; moves go through negative values to keep this true per row.
    UNIQUE (server_id, position)
);
CREATE UNIQUE INDEX roles_bridge_key ON roles (bridge_source, bridge_remote_id) WHERE bridge_source IS NOT NULL;

CREATE TABLE member_roles (
    server_id BLOB NOT NULL,
    user_id   BLOB NOT NULL,
    role_id   BLOB NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    PRIMARY KEY (server_id, user_id, role_id),
    FOREIGN KEY (server_id, user_id) REFERENCES members (server_id, user_id) ON DELETE CASCADE
);
CREATE INDEX member_roles_role_idx ON member_roles (role_id);

-- Server channels and DM channels (kind 'dm', no server), so messages have one FK target.
CREATE TABLE channels (
    id               BLOB PRIMARY KEY NOT NULL,
    server_id        BLOB REFERENCES servers (id) ON DELETE CASCADE,
    name             TEXT NOT NULL,
    kind             TEXT NOT NULL CHECK (kind IN ('text', 'voice', 'category', 'dm')),
    topic            TEXT,
    position         INTEGER NOT NULL DEFAULT 0,
    parent_id        BLOB REFERENCES channels (id) ON DELETE SET NULL,
    bridge_source    TEXT,
    bridge_remote_id TEXT,
    created_at       INTEGER NOT NULL
);
CREATE INDEX channels_server_idx ON channels (server_id, position);
CREATE INDEX channels_parent_idx ON channels (parent_id);
CREATE UNIQUE INDEX channels_bridge_key ON channels (bridge_source, bridge_remote_id) WHERE bridge_source IS NOT NULL;

CREATE TABLE channel_permissions (
    channel_id BLOB NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    target_id  BLOB NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('role', 'member')),
    allow      INTEGER NOT NULL,
    deny       INTEGER NOT NULL,
    PRIMARY KEY (channel_id, target_id)
);
CREATE INDEX channel_permissions_target_idx ON channel_permissions (target_id);

-- `seq` is the stable integer rowid the FTS index refers to (an implicit rowid may change on VACUUM).
CREATE TABLE messages (
    seq              INTEGER PRIMARY KEY,
    id               BLOB NOT NULL UNIQUE,
    channel_id       BLOB NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    author_id        BLOB NOT NULL REFERENCES users (id),
    content          TEXT NOT NULL,
    reply_to         BLOB,
    nonce            TEXT,
    created_at       INTEGER NOT NULL,
    edited_at        INTEGER,
    deleted_at       INTEGER,
    bridge_source    TEXT,
    bridge_remote_id TEXT
);
CREATE INDEX messages_channel_idx ON messages (channel_id, id);
CREATE INDEX messages_nonce_idx ON messages (channel_id, author_id, nonce) WHERE nonce IS NOT NULL;
CREATE INDEX messages_author_idx ON messages (author_id);
CREATE UNIQUE INDEX messages_bridge_key ON messages (bridge_source, bridge_remote_id) WHERE bridge_source IS NOT NULL;

-- Uploads; message_id stays NULL until a message attaches the file.
CREATE TABLE attachments (
    id               BLOB PRIMARY KEY NOT NULL,
    uploader_id      BLOB REFERENCES users (id),
    message_id       BLOB REFERENCES messages (id) ON DELETE CASCADE,
    position         INTEGER NOT NULL DEFAULT 0,
    filename         TEXT NOT NULL,
    content_type     TEXT NOT NULL,
    size             INTEGER NOT NULL,
    url              TEXT NOT NULL,
    secret           TEXT NOT NULL,
    width            INTEGER,
    height           INTEGER,
    bridge_source    TEXT,
    bridge_remote_id TEXT,
    created_at       INTEGER NOT NULL
);
CREATE INDEX attachments_message_idx ON attachments (message_id, position);
CREATE UNIQUE INDEX attachments_bridge_key ON attachments (bridge_source, bridge_remote_id) WHERE bridge_source IS NOT NULL;

CREATE TABLE reactions (
    message_id BLOB NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    user_id    BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    emoji      TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (message_id, emoji, user_id)
);

-- A DM channel between two users (user_low < user_high by id; equal for a note-to-self).
CREATE TABLE dm_channels (
    id        BLOB PRIMARY KEY NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    user_low  BLOB NOT NULL REFERENCES users (id),
    user_high BLOB NOT NULL REFERENCES users (id),
    UNIQUE (user_low, user_high)
);

CREATE TABLE dm_participants (
    channel_id BLOB NOT NULL REFERENCES dm_channels (id) ON DELETE CASCADE,
    user_id    BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (channel_id, user_id)
);
CREATE INDEX dm_participants_user_idx ON dm_participants (user_id);

-- One message table serves servers and DMs; this view names the DM part.
CREATE VIEW dm_messages AS
    SELECT m.* FROM messages m JOIN dm_channels d ON d.id = m.channel_id;

CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    family_id  BLOB NOT NULL,
    user_id    BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER,
    revoked    BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id);

CREATE TABLE invites (
    code       TEXT PRIMARY KEY NOT NULL,
    server_id  BLOB NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    channel_id BLOB REFERENCES channels (id) ON DELETE SET NULL,
    uses       INTEGER NOT NULL DEFAULT 0,
    max_uses   INTEGER NOT NULL DEFAULT 0,
    expires_at INTEGER,
    creator_id BLOB NOT NULL REFERENCES users (id),
    created_at INTEGER NOT NULL
);
CREATE INDEX invites_server_idx ON invites (server_id, created_at);

CREATE TABLE bans (
    server_id  BLOB NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    user_id    BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    reason     TEXT,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (server_id, user_id)
);

CREATE TABLE read_states (
    user_id              BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    channel_id           BLOB NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    last_read_message_id BLOB NOT NULL,
    PRIMARY KEY (user_id, channel_id)
);

-- A message's edit/delete trail.
CREATE TABLE message_audit_log (
    id          BLOB PRIMARY KEY NOT NULL,
    message_id  BLOB NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    action      TEXT NOT NULL CHECK (action IN ('edit', 'delete')),
    old_content TEXT,
    new_content TEXT,
    actor_id    BLOB,
    created_at  INTEGER NOT NULL
);
CREATE INDEX message_audit_log_message_idx ON message_audit_log (message_id, created_at);

CREATE TABLE server_audit_log (
    id         BLOB PRIMARY KEY NOT NULL,
    server_id  BLOB NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    actor_id   BLOB,
    action     TEXT NOT NULL,
    target_id  BLOB,
    changes    TEXT NOT NULL,
    reason     TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX server_audit_log_server_idx ON server_audit_log (server_id, id);

CREATE TABLE bridge_connections (
    id             BLOB PRIMARY KEY NOT NULL,
    source         TEXT NOT NULL,
    owner_id       BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token          TEXT NOT NULL,
    token_kind     TEXT NOT NULL,
    mode           TEXT NOT NULL,
    status         TEXT NOT NULL,
    status_reason  TEXT,
    remote_user_id TEXT,
    created_at     INTEGER NOT NULL
);
CREATE INDEX bridge_connections_owner_idx ON bridge_connections (owner_id);

CREATE TABLE bridge_cursors (
    connection_id BLOB NOT NULL REFERENCES bridge_connections (id) ON DELETE CASCADE,
    key           TEXT NOT NULL,
    value         TEXT NOT NULL,
    PRIMARY KEY (connection_id, key)
);

-- Full-text search over live messages: an external-content FTS5 index kept in sync by triggers.
-- Deleted messages (deleted_at set) are removed from the index.
CREATE VIRTUAL TABLE messages_fts USING fts5 (
    content,
    content = 'messages',
    content_rowid = 'seq',
    tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages WHEN new.deleted_at IS NULL BEGIN
    INSERT INTO messages_fts (rowid, content) VALUES (new.seq, new.content);
END;

CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages WHEN old.deleted_at IS NULL BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', old.seq, old.content);
END;

-- One trigger, so the old entry is always removed before the new one is added.
CREATE TRIGGER messages_fts_update AFTER UPDATE OF content, deleted_at ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, content)
        SELECT 'delete', old.seq, old.content WHERE old.deleted_at IS NULL;
    INSERT INTO messages_fts (rowid, content)
        SELECT new.seq, new.content WHERE new.deleted_at IS NULL;
END;

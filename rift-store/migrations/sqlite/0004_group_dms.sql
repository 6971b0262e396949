-- Group DMs (and mirrored DMs): a DM channel has a kind ('dm' between two users, 'group_dm' with
-- any number of participants) and a group DM an optional name. dm_participants is the source of
-- truth for membership; the (user_low, user_high) pair stays only on 'dm' rows, where it keeps
-- the one-DM-per-pair rule (group DMs leave it NULL, and NULLs never clash in a UNIQUE index).
-- SQLite cannot relax NOT NULL in place, so both DM tables are rebuilt with their rows.
DROP VIEW dm_messages;

CREATE TABLE dm_channels_0004 AS SELECT id, user_low, user_high FROM dm_channels;
CREATE TABLE dm_participants_0004 AS SELECT channel_id, user_id FROM dm_participants;
DROP TABLE dm_participants;
DROP TABLE dm_channels;

CREATE TABLE dm_channels (
    id        BLOB PRIMARY KEY NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    kind      TEXT NOT NULL DEFAULT 'dm' CHECK (kind IN ('dm', 'group_dm')),
    name      TEXT,
    user_low  BLOB REFERENCES users (id),
    user_high BLOB REFERENCES users (id),
    UNIQUE (user_low, user_high),
    CHECK ((kind = 'dm') = (user_low IS NOT NULL AND user_high IS NOT NULL)),
    CHECK (kind = 'group_dm' OR name IS NULL)
);
INSERT INTO dm_channels (id, kind, name, user_low, user_high)
    SELECT id, 'dm', NULL, user_low, user_high FROM dm_channels_0004;

CREATE TABLE dm_participants (
    channel_id BLOB NOT NULL REFERENCES dm_channels (id) ON DELETE CASCADE,
    user_id    BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (channel_id, user_id)
);
INSERT INTO dm_participants (channel_id, user_id) SELECT channel_id, user_id FROM dm_participants_0004;
CREATE INDEX dm_participants_user_idx ON dm_participants (user_id);

DROP TABLE dm_participants_0004;
DROP TABLE dm_channels_0004;

CREATE VIEW dm_messages AS
    SELECT m.* FROM messages m JOIN dm_channels d ON d.id = m.channel_id;

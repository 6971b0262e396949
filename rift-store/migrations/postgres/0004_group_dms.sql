-- Group DMs (and mirrored DMs): a DM channel has a kind ('dm' between two users, 'group_dm' with
-- any number of participants) and a group DM an optional name. dm_participants is the source of
-- truth for membership; the (user_low, user_high) pair stays only on 'dm' rows, where it keeps
-- the one-DM-per-pair rule (group DMs leave it NULL, and NULLs never clash in a UNIQUE index).
ALTER TABLE dm_channels
    ADD COLUMN kind TEXT NOT NULL DEFAULT 'dm' CHECK (kind IN ('dm', 'group_dm')),
    ADD COLUMN name TEXT,
    ALTER COLUMN user_low DROP NOT NULL,
    ALTER COLUMN user_high DROP NOT NULL,
    ADD CONSTRAINT dm_channels_pair_check
        CHECK ((kind = 'dm') = (user_low IS NOT NULL AND user_high IS NOT NULL)),
    ADD CONSTRAINT dm_channels_name_check CHECK (kind = 'group_dm' OR name IS NULL);

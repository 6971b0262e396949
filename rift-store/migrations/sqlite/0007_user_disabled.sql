-- An administrator can disable an account (`rift user disable`): it cannot sign in, refresh or
-- use an access token it still holds. NULL: enabled.
ALTER TABLE users ADD COLUMN disabled_at INTEGER;

-- Presence: what each technician chose (available or away, from the phone or the web log) and
-- whether Hotline has them on a call. Offline is not stored: it is "no reachable phone".
CREATE TABLE presence (
    user_name TEXT PRIMARY KEY REFERENCES users (name) ON DELETE CASCADE,
    choice TEXT NOT NULL,
    busy INTEGER NOT NULL DEFAULT 0,
    changed_at INTEGER NOT NULL
);

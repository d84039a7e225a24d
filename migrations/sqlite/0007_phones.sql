-- Technicians' phones: the digest secrets of their SIP account and their registered devices.
-- Only HA1 = H(user:realm:password) is kept, one per algorithm, never the password.
CREATE TABLE sip_credentials (
    user_name TEXT PRIMARY KEY REFERENCES users (name) ON DELETE CASCADE,
    realm TEXT NOT NULL,
    ha1_md5 TEXT NOT NULL,
    ha1_sha256 TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

-- One row per registered device (RFC 3261 §10 binding). `source` is where the REGISTER came
-- from (rport/received), where the phone is reached.
CREATE TABLE phone_bindings (
    user_name TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    contact TEXT NOT NULL,
    call_id TEXT NOT NULL,
    cseq INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    source TEXT NOT NULL,
    transport TEXT NOT NULL,
    user_agent TEXT,
    registered_at INTEGER NOT NULL,
    reachable INTEGER NOT NULL DEFAULT 1,
    checked_at INTEGER,
    PRIMARY KEY (user_name, contact)
);
CREATE INDEX phone_bindings_expiry ON phone_bindings (expires_at);

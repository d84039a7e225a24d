-- The durable transcription queue, and the transcript's details on the ticket.
CREATE TABLE transcription_jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    recording_path TEXT NOT NULL UNIQUE,
    language TEXT,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    run_after INTEGER NOT NULL,
    lease_until INTEGER,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    finished_at INTEGER
);
CREATE INDEX transcription_jobs_ready ON transcription_jobs (status, run_after);

ALTER TABLE tickets ADD COLUMN transcript_language TEXT;
ALTER TABLE tickets ADD COLUMN transcript_segments TEXT;
ALTER TABLE tickets ADD COLUMN transcript_model TEXT;
ALTER TABLE tickets ADD COLUMN transcript_ms INTEGER;

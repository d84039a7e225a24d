-- The durable transcription queue, and the transcript's details on the ticket.
CREATE TABLE transcription_jobs (
    id BIGSERIAL PRIMARY KEY,
    ticket_id BIGINT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    recording_path TEXT NOT NULL UNIQUE,
    language TEXT,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    run_after BIGINT NOT NULL,
    lease_until BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE INDEX transcription_jobs_ready ON transcription_jobs (status, run_after);

ALTER TABLE tickets ADD COLUMN transcript_language TEXT;
ALTER TABLE tickets ADD COLUMN transcript_segments TEXT;
ALTER TABLE tickets ADD COLUMN transcript_model TEXT;
ALTER TABLE tickets ADD COLUMN transcript_ms BIGINT;

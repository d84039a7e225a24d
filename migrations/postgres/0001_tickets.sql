-- Tickets, their call timelines, the caller directory and the technicians on duty.
-- Timestamps are Unix milliseconds (UTC). BIGSERIAL: ticket numbers come from a sequence, never
-- reused and safe when several Hotline nodes insert at once.
CREATE TABLE tickets (
    id BIGSERIAL PRIMARY KEY,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    call_id TEXT NOT NULL,
    caller_number TEXT NOT NULL,
    caller_name TEXT,
    caller_identity TEXT,
    language TEXT,
    category TEXT,
    impact TEXT,
    urgency TEXT,
    priority TEXT,
    status TEXT NOT NULL,
    disposition TEXT NOT NULL,
    disposition_detail TEXT,
    assignee TEXT,
    estimated_response_secs BIGINT,
    collected TEXT,
    recording_path TEXT,
    recording_duration_ms BIGINT,
    recording_end_cause TEXT,
    transcript TEXT
);
CREATE INDEX tickets_created ON tickets (created_at);
CREATE INDEX tickets_status_priority ON tickets (status, priority, created_at);
CREATE INDEX tickets_call ON tickets (call_id);

CREATE TABLE ticket_events (
    id BIGSERIAL PRIMARY KEY,
    ticket_id BIGINT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX ticket_events_ticket ON ticket_events (ticket_id, id);

CREATE TABLE directory (
    number TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    department TEXT,
    email TEXT
);

CREATE TABLE technicians (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    on_duty BIGINT NOT NULL DEFAULT 1
);

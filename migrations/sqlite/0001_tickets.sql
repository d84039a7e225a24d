-- Tickets, their call timelines, the caller directory and the technicians on duty.
-- Timestamps are Unix milliseconds (UTC). AUTOINCREMENT: a ticket number is never reused,
-- even after the newest ticket is deleted.
CREATE TABLE tickets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
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
    estimated_response_secs INTEGER,
    collected TEXT,
    recording_path TEXT,
    recording_duration_ms INTEGER,
    recording_end_cause TEXT,
    transcript TEXT
);
CREATE INDEX tickets_created ON tickets (created_at);
CREATE INDEX tickets_status_priority ON tickets (status, priority, created_at);
CREATE INDEX tickets_call ON tickets (call_id);

CREATE TABLE ticket_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    at INTEGER NOT NULL,
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
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    on_duty INTEGER NOT NULL DEFAULT 1
);

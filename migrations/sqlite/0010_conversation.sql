-- The recording of a bridged conversation (caller left, technician right), for the teams
-- whose calls are recorded (`routing.record_teams`).
ALTER TABLE tickets ADD COLUMN conversation_path TEXT;
ALTER TABLE tickets ADD COLUMN conversation_duration_ms INTEGER;

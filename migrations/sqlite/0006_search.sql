-- Full-text search over what a technician remembers of a call: the words of the voicemail, the
-- caller's number, name and directory identity, and the reference. An external-content FTS5
-- table (the text lives once, in tickets) kept in step by triggers, so every writer — the call,
-- the transcription worker, a script — is indexed without knowing about it. remove_diacritics 2
-- lets "reseau" find "réseau" (French callers, English-keyboard technicians).
CREATE VIRTUAL TABLE tickets_search USING fts5(
    reference, caller_number, caller_name, caller_identity, transcript,
    content = 'tickets', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER tickets_search_insert AFTER INSERT ON tickets BEGIN
    INSERT INTO tickets_search (rowid, reference, caller_number, caller_name, caller_identity, transcript)
    VALUES (new.id, new.reference, new.caller_number, new.caller_name, new.caller_identity, new.transcript);
END;
CREATE TRIGGER tickets_search_delete AFTER DELETE ON tickets BEGIN
    INSERT INTO tickets_search (tickets_search, rowid, reference, caller_number, caller_name, caller_identity, transcript)
    VALUES ('delete', old.id, old.reference, old.caller_number, old.caller_name, old.caller_identity, old.transcript);
END;
-- Only when indexed text changes: status, priority and the like leave the index alone.
CREATE TRIGGER tickets_search_update
AFTER UPDATE OF reference, caller_number, caller_name, caller_identity, transcript ON tickets BEGIN
    INSERT INTO tickets_search (tickets_search, rowid, reference, caller_number, caller_name, caller_identity, transcript)
    VALUES ('delete', old.id, old.reference, old.caller_number, old.caller_name, old.caller_identity, old.transcript);
    INSERT INTO tickets_search (rowid, reference, caller_number, caller_name, caller_identity, transcript)
    VALUES (new.id, new.reference, new.caller_number, new.caller_name, new.caller_identity, new.transcript);
END;
-- Tickets from before this migration.
INSERT INTO tickets_search (tickets_search) VALUES ('rebuild');

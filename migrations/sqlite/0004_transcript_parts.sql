-- Long voicemails are transcribed in 30-second parts while the caller is still speaking; each
-- part's text is kept here and the ticket's transcript is assembled from them in order.
ALTER TABLE transcription_jobs ADD COLUMN part INTEGER;
CREATE TABLE transcript_parts (
    ticket_id INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    part INTEGER NOT NULL,
    text TEXT,
    language TEXT NOT NULL,
    segments TEXT NOT NULL,
    model TEXT NOT NULL,
    processing_ms INTEGER NOT NULL,
    PRIMARY KEY (ticket_id, part)
);

-- The technician talking with the caller now: set as a technician takes the call, cleared when
-- their talk ends (hung up, or transferred to the next). A restart frees the technician of a
-- call it cut from here, instead of reading the timeline's display text.
ALTER TABLE tickets ADD COLUMN talking_with TEXT;

-- Calls from before that a restart may still close: the technician of the timeline's last
-- `technician_answered` event ("tess on sip:…") when no `talk_ended` came after it.
UPDATE tickets SET talking_with = (
    SELECT CASE WHEN e.kind = 'technician_answered' AND instr(e.detail, ' on ') > 0
                THEN substr(e.detail, 1, instr(e.detail, ' on ') - 1) END
    FROM ticket_events e
    WHERE e.ticket_id = tickets.id AND e.kind IN ('technician_answered', 'talk_ended')
    ORDER BY e.id DESC
    LIMIT 1
)
WHERE disposition = 'in_progress';

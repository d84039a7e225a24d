-- The team whose queue the call joined last, written as it joins: a call-back request keeps
-- its team here, so that `*8` selects the requests of a technician's teams in one query
-- instead of reading each request's timeline. NULL for a call that never joined a queue.
ALTER TABLE tickets ADD COLUMN queue_team TEXT;

-- Calls from before that may still become or be call-back requests: the team their timeline's
-- last `queued` event names ("network, position 2").
UPDATE tickets SET queue_team = (
    SELECT substr(e.detail, 1, instr(e.detail, ', position ') - 1)
    FROM ticket_events e
    WHERE e.ticket_id = tickets.id AND e.kind = 'queued' AND instr(e.detail, ', position ') > 0
    ORDER BY e.id DESC
    LIMIT 1
)
WHERE disposition IN ('callback_requested', 'in_progress');

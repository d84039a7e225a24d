-- The team queues as every node sees them: one row per caller waiting now, written by the node
-- running the call when the caller joins and deleted when they leave, so positions count the
-- callers of every node (see `store::queue`). Timestamps are Unix milliseconds (UTC).
-- `priority_level` is 1 (P1) to 5, 9 for a caller without a priority (served last).
-- `seen_at` is refreshed by the node while it lives: a dead node's rows stop counting.
CREATE TABLE queue_waiting (
    id BIGSERIAL PRIMARY KEY,
    ticket_id BIGINT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    team TEXT NOT NULL,
    priority_level BIGINT NOT NULL,
    joined_at BIGINT NOT NULL,
    node TEXT NOT NULL,
    seen_at BIGINT NOT NULL
);
CREATE INDEX queue_waiting_team ON queue_waiting (team, priority_level, joined_at);
CREATE INDEX queue_waiting_ticket ON queue_waiting (ticket_id);
CREATE INDEX queue_waiting_node ON queue_waiting (node);

-- A technician asking for a caller who waits on another node ("Take call" on the web log, or
-- `*8`): the caller's node claims it (deletes it) and rings the technician's phones. Unclaimed
-- requests expire after a few seconds (the caller's node died).
CREATE TABLE queue_take_requests (
    id BIGSERIAL PRIMARY KEY,
    ticket_id BIGINT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    technician TEXT NOT NULL,
    via TEXT NOT NULL,
    requested_at BIGINT NOT NULL
);
CREATE INDEX queue_take_requests_ticket ON queue_take_requests (ticket_id);

-- The Hotline node that took the call (`node` in the configuration), so that a node restarting
-- after a crash closes its own cut calls and leaves the other nodes' running calls alone.
-- Tickets from before have none (NULL).
ALTER TABLE tickets ADD COLUMN node TEXT;

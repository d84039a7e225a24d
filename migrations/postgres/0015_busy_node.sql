-- The node whose call set a technician busy (NULL when they are not): a node restarting after a
-- crash frees the technicians it had on calls, whichever ticket the call was on (a call-back
-- of a voicemail never makes its ticket `in_progress`), and leaves the other nodes' alone.
-- Rows busy from before keep NULL: no node can tell whose call set them.
ALTER TABLE presence ADD COLUMN busy_node TEXT;

-- The reference callers hear (HD-<year>-<number>) is stored, unique, so it can be searched and it
-- never changes once spoken. Tickets from before this migration get the reference they already
-- had: the UTC year of creation and the row id, zero-padded to six digits.
ALTER TABLE tickets ADD COLUMN reference TEXT;
UPDATE tickets
   SET reference = 'HD-' || strftime('%Y', created_at / 1000, 'unixepoch') || '-' || printf('%06d', id);
CREATE UNIQUE INDEX tickets_reference ON tickets (reference);

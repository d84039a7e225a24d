-- The reference callers hear (HD-<year>-<number>) is stored, unique, so it can be searched and it
-- never changes once spoken. Tickets from before this migration get the reference they already
-- had: the UTC year of creation and the row id, zero-padded to six digits (lpad would truncate
-- longer numbers, hence the CASE).
ALTER TABLE tickets ADD COLUMN reference TEXT;
UPDATE tickets
   SET reference = 'HD-' || to_char(to_timestamp(created_at / 1000) AT TIME ZONE 'UTC', 'YYYY') || '-'
       || CASE WHEN id < 1000000 THEN lpad(id::text, 6, '0') ELSE id::text END;
CREATE UNIQUE INDEX tickets_reference ON tickets (reference);

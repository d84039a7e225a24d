-- Full-text search over what a technician remembers of a call: the words of the voicemail, the
-- caller's number, name and directory identity, and the reference. A stored generated tsvector,
-- so every writer is indexed without knowing about it and existing tickets are indexed by this
-- migration. The 'simple' configuration (no stemming, no stop words) treats French and English
-- alike; translate() folds accents ("reseau" finds "réseau") without the unaccent extension, and
-- turns + - @ . _ / : into spaces so numbers, references and e-mail addresses split into words
-- as they do in SQLite. The query side (src/store/search.rs) folds accents with the same table.
ALTER TABLE tickets ADD COLUMN search tsvector GENERATED ALWAYS AS (
    to_tsvector('simple', translate(
        coalesce(reference, '') || ' ' || coalesce(caller_number, '') || ' ' || coalesce(caller_name, '')
            || ' ' || coalesce(caller_identity, '') || ' ' || coalesce(transcript, ''),
        'àáâãäåāçćčèéêëēėęìíîïīñńòóôõöøōùúûüūýÿÀÁÂÃÄÅĀÇĆČÈÉÊËĒĖĘÌÍÎÏĪÑŃÒÓÔÕÖØŌÙÚÛÜŪÝŸ+-@._/:',
        'aaaaaaaccceeeeeeeiiiiinnooooooouuuuuyyAAAAAAACCCEEEEEEEIIIIINNOOOOOOOUUUUUYY       '))
) STORED;
CREATE INDEX tickets_search ON tickets USING GIN (search);

-- The call log lists newest first by (created_at, id). With id in the index, the first page,
-- a date range or a status and priority is read from the index in order and stops after a
-- page, instead of sorting every match (SQLite's indexes end with the rowid already).
CREATE INDEX tickets_created_id ON tickets (created_at, id);
CREATE INDEX tickets_status_priority_created_id ON tickets (status, priority, created_at, id);
DROP INDEX tickets_created;
DROP INDEX tickets_status_priority;

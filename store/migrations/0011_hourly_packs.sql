-- Closed weeks of the hourly rollup, packed for long charts (store/hourly_packs.py).
--
-- A one-year hourly chart is 8,760 rollup rows of one series, and PostgreSQL spent ~0.7 us on
-- each (scan, aggregate, send): most of the chart's cost. Past weeks hardly ever change, so
-- each (series, 168-hour period) is also kept as one row holding its hours, already in the
-- chart's binary layout: a year is 52 rows and byte copies. `hours` is the period's buckets in
-- order, 40 bytes each, big-endian: start (int8, Unix seconds), avg, min, max (float8),
-- count (int8); up to 6,720 bytes, kept out of line (TOAST) and uncompressed (EXTERNAL):
-- a series' week then lies in a few consecutive pages, and nothing is decompressed to read it.
CREATE TABLE readings_hourly_packs (
    series_id   integer NOT NULL,
    period      timestamptz NOT NULL,
    hours       bytea NOT NULL,
    PRIMARY KEY (series_id, period)
);
ALTER TABLE readings_hourly_packs ALTER COLUMN hours SET STORAGE EXTERNAL;
-- For dropping a period's packs of every series (hourly_packs.forget).
CREATE INDEX readings_hourly_packs_period_idx ON readings_hourly_packs (period);

-- Every period before `packed_through` has been packed (a period without rollup rows has no
-- pack). One row; NULL until the first period is packed.
CREATE TABLE readings_hourly_packs_progress (
    only_row        boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    packed_through  timestamptz
);
INSERT INTO readings_hourly_packs_progress DEFAULT VALUES;

-- Periods whose packs were dropped because their rollup changed behind the writer's back (a
-- TimescaleDB refresh of an old window); the packer packs them again.
CREATE TABLE readings_hourly_packs_todo (
    period timestamptz PRIMARY KEY
);

-- A chart reads one series' hourly rollup over a long range (a year is 8,760 rows). The writer
-- appends the rollup hour after hour with every series of an hour side by side, so one series'
-- year lies on ~8,760 different heap pages: ~20 ms a chart even when cached, far more from
-- disk. Carrying the columns in the primary key (one index, not a second one the writer must
-- also update) lets the chart be an index-only scan of ~80 pages, already in bucket order.
ALTER TABLE readings_hourly_rollup
    DROP CONSTRAINT readings_hourly_rollup_pkey,
    ADD CONSTRAINT readings_hourly_rollup_pkey PRIMARY KEY (series_id, bucket)
        INCLUDE (sample_count, sum_value, min_value, max_value);

-- An index-only scan reads the heap for rows on pages not marked all-visible, which only
-- VACUUM marks. By default autovacuum waits for 20% of the table in new rows (months of a
-- year-old rollup); vacuum after every ~10,000 new rows instead (about an hour of a
-- 10,000-device community), so only the last hours of a chart are fetched from the heap.
-- Such a vacuum reads only the pages changed since the last one (the visibility map skips the
-- rest) and skips the index pass while few pages hold dead rows.
ALTER TABLE readings_hourly_rollup SET (
    autovacuum_vacuum_insert_scale_factor = 0,
    autovacuum_vacuum_insert_threshold = 10000
);

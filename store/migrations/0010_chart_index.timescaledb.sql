-- A chart reads one series' hourly rows over a long range (a year is 8,760 rows). An index on
-- the continuous aggregate (created through the view's name, TimescaleDB 2.7+) that carries
-- the columns a chart reads lets it be an index-only scan of the materialized chunks instead
-- of one heap page per hour. (Not run in our tests: no TimescaleDB on the test machines.)
CREATE INDEX readings_hourly_chart_idx ON readings_hourly (series_id, bucket)
    INCLUDE (avg_value, min_value, max_value, sample_count);

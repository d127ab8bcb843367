-- TimescaleDB: readings and events become hypertables (1-day chunks), compressed by series, and
-- an hourly continuous aggregate serves the same columns as the plain-PostgreSQL rollup view.
-- Policies whose intervals come from settings (compression, retention) are set by
-- store/timescale.py after every migration run, so changing a setting takes effect on restart.
SELECT create_hypertable('readings', 'ts', chunk_time_interval => INTERVAL '1 day',
                         migrate_data => true);
SELECT create_hypertable('events', 'ts', chunk_time_interval => INTERVAL '7 days',
                         migrate_data => true);

ALTER TABLE readings SET (timescaledb.compress,
                          timescaledb.compress_segmentby = 'series_id',
                          timescaledb.compress_orderby = 'ts');
ALTER TABLE events SET (timescaledb.compress,
                        timescaledb.compress_segmentby = 'device_id',
                        timescaledb.compress_orderby = 'ts, type, subject');

CREATE MATERIALIZED VIEW readings_hourly
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT series_id,
       time_bucket(INTERVAL '1 hour', ts) AS bucket,
       avg(value) AS avg_value,
       min(value) AS min_value,
       max(value) AS max_value,
       count(*) AS sample_count
FROM readings
GROUP BY series_id, time_bucket(INTERVAL '1 hour', ts)
WITH NO DATA;

SELECT add_continuous_aggregate_policy('readings_hourly',
    start_offset => INTERVAL '3 days',
    end_offset => INTERVAL '1 hour',
    schedule_interval => INTERVAL '15 minutes');

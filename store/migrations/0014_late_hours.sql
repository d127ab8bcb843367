-- Hours of readings stored behind TimescaleDB's refresh policy (store/late_hours.py): the
-- writer notes each UTC hour it wrote older than the policy's window, and store maintenance
-- refreshes exactly those hours of the continuous aggregate, then deletes the row unless a
-- writer noted the hour again meanwhile (a higher `noted`). Stays empty on plain PostgreSQL,
-- whose rollup the writer keeps itself.
CREATE SEQUENCE readings_hourly_late_seq;
CREATE TABLE readings_hourly_late (
    bucket  timestamptz PRIMARY KEY,
    noted   bigint NOT NULL DEFAULT nextval('readings_hourly_late_seq')
);

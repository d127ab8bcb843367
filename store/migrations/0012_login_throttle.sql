-- Failed dashboard logins, counted by account and by client address (api/login_throttle.py).
--
-- One row per key: "account:<user id as typed>" or "client:<address>". `failures` counts the
-- attempts since the key was last cleared (an attempt is counted before its password is checked,
-- and given back when it succeeds), `locked_until` refuses every attempt of the key until then,
-- the right password included. Kept in the database, not in a worker's memory, so that every
-- API worker shares one count and a restart forgets nothing.
CREATE TABLE login_throttle (
    key           text PRIMARY KEY,
    failures      integer NOT NULL DEFAULT 0,
    last_at       timestamptz NOT NULL,
    locked_until  timestamptz
);
-- For forgetting keys that have been quiet for long (login_throttle.forget).
CREATE INDEX login_throttle_last_at_idx ON login_throttle (last_at);

-- A device's state as people read it, in one place for every read (lists, the state filter,
-- a site's overview, households): its status message's online/offline when it ever sent one;
-- else judged from its data: online while its silence since last_seen is within a few of its
-- usual reporting intervals, offline beyond; unknown only before it first speaks.

-- The device's usual interval: the median gap between its last distinct reading times (the
-- metrics of one message share a time, so they count once). NULL with fewer than two.
CREATE FUNCTION device_usual_gap(p_device_id bigint) RETURNS interval
LANGUAGE sql STABLE AS $$
    SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY gap)
    FROM (
        SELECT t.ts - lag(t.ts) OVER (ORDER BY t.ts) AS gap
        FROM (
            SELECT DISTINCT r.ts
            FROM series s
            CROSS JOIN LATERAL (
                SELECT ts FROM readings WHERE series_id = s.id ORDER BY ts DESC LIMIT 11
            ) r
            WHERE s.device_id = p_device_id
            ORDER BY r.ts DESC
            LIMIT 11
        ) t
    ) g
    WHERE gap > interval '0'
$$;

-- How long a device that sends no status may stay silent and still be online: three of its
-- usual intervals, at least 15 minutes (jitter, a late batch), at most a day; a day when its
-- interval is not known (one reading, events only).
CREATE FUNCTION device_silence_allowed(p_device_id bigint) RETURNS interval
LANGUAGE sql STABLE AS $$
    SELECT least(greatest(coalesce(3 * device_usual_gap(p_device_id), interval '1 day'),
                          interval '15 minutes'),
                 interval '1 day')
$$;

-- Where the state comes from: 'status' (it sent one), 'data' (judged from its data), or NULL
-- (never heard from).
CREATE FUNCTION device_state_source(d devices) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN d.online IS NOT NULL THEN 'status'
                WHEN d.last_seen IS NOT NULL THEN 'data' END
$$;

-- 'online', 'offline' or 'unknown'.
CREATE FUNCTION device_state(d devices) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN d.online IS TRUE THEN 'online'
                WHEN d.online IS FALSE THEN 'offline'
                WHEN d.last_seen IS NULL THEN 'unknown'
                WHEN now() - d.last_seen <= device_silence_allowed(d.id) THEN 'online'
                ELSE 'offline' END
$$;

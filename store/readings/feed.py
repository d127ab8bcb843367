"""The committed-batch feed: what each ingest transaction wrote, for the rules engines.

`append` runs inside the writer's transaction (after the staging tables are filled), so a batch
is in the feed if and only if it is stored. Consumers read batches after their per-site cursor
(`read_after`) and advance the cursor in the transaction that records their results
(`advance`), which makes consumption exactly-once per site across crashes. A site's cursor is
made when an engine first meets the site, just before the site's first batch (`cursors`), so a
site's first data is evaluated however late an engine notices the site. `prune` drops batches
every cursor has passed, unless a site they name has no cursor yet, and any older than `keep_s`
(no engine running).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt
import psycopg
from psycopg import sql
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb

from store.records import StatusChange

#: LISTEN channel; the payload is the batch id.
CHANNEL = "courtyard_batches"
_LISTEN = sql.SQL("LISTEN {}").format(sql.Identifier(CHANNEL))
#: Serialises appends (see the migration); any constant unique to this purpose.
_APPEND_LOCK = 0x43_6F_75_72_46_65_65_64  # "CourFeed"

_APPEND = """
INSERT INTO batch_feed (sites, series_ids, epochs, reading_values, events, statuses)
SELECT %(sites)s,
       coalesce((SELECT array_agg(series_id) FROM readings_stage), '{}'),
       coalesce((SELECT array_agg(extract(epoch FROM ts)::float8) FROM readings_stage), '{}'),
       coalesce((SELECT array_agg(value) FROM readings_stage), '{}'),
       CASE WHEN %(with_events)s THEN coalesce(
           (SELECT jsonb_agg(jsonb_build_object(
                'd', device_id, 't', extract(epoch FROM ts)::float8, 'type', type,
                'subject', subject, 'attrs', attrs))
            FROM events_stage), '[]') ELSE '[]' END,
       %(statuses)s
RETURNING id
"""


@dataclass(frozen=True, slots=True)
class FeedBatch:
    id: int
    sites: tuple[str, ...]
    series_ids: npt.NDArray[np.int64]
    epochs: npt.NDArray[np.float64]
    values: npt.NDArray[np.float64]
    #: (device id, epoch s, type, subject, attrs)
    events: tuple[tuple[int, float, str, str, dict[str, object]], ...]
    statuses: tuple[StatusChange, ...]


def append(
    cur: psycopg.Cursor[TupleRow],
    sites: Collection[str],
    statuses: Sequence[StatusChange],
    *,
    with_events: bool,
) -> int:
    """Append the batch staged in `readings_stage`/`events_stage`; returns its feed id.

    Announces the id on `CHANNEL` at commit."""
    cur.execute("SELECT pg_advisory_xact_lock(%s)", (_APPEND_LOCK,))
    cur.execute(
        _APPEND,
        {
            "sites": sorted(sites),
            "with_events": with_events,
            "statuses": Jsonb(
                [
                    {
                        "site": s.site,
                        "device": s.device,
                        "t": s.ts.timestamp(),
                        "online": s.online,
                        "before": s.data_before,
                    }
                    for s in statuses
                ]
            ),
        },
    )
    row = cur.fetchone()
    assert row is not None
    batch_id = int(row[0])
    cur.execute("SELECT pg_notify(%s, %s)", (CHANNEL, str(batch_id)))
    return batch_id


def listen(conn: psycopg.Connection[TupleRow]) -> None:
    """Have the (autocommit) connection receive every batch id announced from now on."""
    conn.execute(_LISTEN)


def read_after(
    conn: psycopg.Connection[TupleRow], after_id: int, sites: Collection[str], limit: int
) -> list[FeedBatch]:
    """Batches with id > `after_id` that touch any of `sites`, oldest first."""
    rows = conn.execute(
        """
        SELECT id, sites, series_ids, epochs, reading_values, events, statuses
        FROM batch_feed WHERE id > %s AND sites && %s::text[]
        ORDER BY id LIMIT %s
        """,
        (after_id, list(sites), limit),
    ).fetchall()
    batches = []
    for id_, batch_sites, sids, epochs, values, events, statuses in rows:
        batches.append(
            FeedBatch(
                id=int(id_),
                sites=tuple(batch_sites),
                series_ids=np.asarray(sids, dtype=np.int64),
                epochs=np.asarray(epochs, dtype=np.float64),
                values=np.asarray(values, dtype=np.float64),
                events=tuple(
                    (int(e["d"]), float(e["t"]), e["type"], e["subject"], e["attrs"])
                    for e in events
                ),
                statuses=tuple(
                    StatusChange(
                        s["site"],
                        s["device"],
                        datetime.fromtimestamp(s["t"], UTC),
                        s["online"],
                        s.get("before"),
                    )
                    for s in statuses
                ),
            )
        )
    return batches


def latest_id(conn: psycopg.Connection[TupleRow]) -> int:
    row = conn.execute("SELECT coalesce(max(id), 0) FROM batch_feed").fetchone()
    return int(row[0]) if row else 0


def cursors(conn: psycopg.Connection[TupleRow], sites: Collection[str]) -> dict[str, int]:
    """Each site's cursor. A site without one has never been evaluated: its cursor starts just
    before its first batch the feed still holds, or at the feed's end when the feed holds none
    (its batches to come get higher ids). One statement, so one snapshot decides both."""
    rows = conn.execute(
        "SELECT site_id, batch_id FROM feed_cursors WHERE site_id = ANY(%s::text[])",
        (list(sites),),
    ).fetchall()
    found = {str(site): int(batch_id) for site, batch_id in rows}
    missing = sorted(s for s in sites if s not in found)
    if missing:
        conn.execute(
            """
            INSERT INTO feed_cursors (site_id, batch_id)
            SELECT site, coalesce(
                (SELECT min(id) - 1 FROM batch_feed WHERE sites @> ARRAY[site]),
                (SELECT max(id) FROM batch_feed),
                0)
            FROM unnest(%s::text[]) AS missing (site)
            ON CONFLICT (site_id) DO NOTHING
            """,
            (missing,),
        )
        rows = conn.execute(
            "SELECT site_id, batch_id FROM feed_cursors WHERE site_id = ANY(%s::text[])",
            (missing,),
        ).fetchall()
        found.update({str(site): int(batch_id) for site, batch_id in rows})
    return found


def sites_after(conn: psycopg.Connection[TupleRow], after_id: int) -> tuple[int, frozenset[str]]:
    """The newest id and the sites named by the batches after `after_id`: how an engine
    notices a site that appeared since it last listed them."""
    row = conn.execute(
        """
        SELECT max(id), coalesce(array_agg(DISTINCT site), '{}')
        FROM batch_feed, unnest(sites) AS named (site) WHERE id > %s
        """,
        (after_id,),
    ).fetchone()
    if row is None or row[0] is None:
        return after_id, frozenset()
    return int(row[0]), frozenset(str(site) for site in row[1])


def advance(conn: psycopg.Connection[TupleRow], sites: Collection[str], batch_id: int) -> None:
    """Move the cursors of `sites` to `batch_id` (never backwards)."""
    conn.execute(
        """
        UPDATE feed_cursors SET batch_id = %s, updated_at = now()
        WHERE site_id = ANY(%s::text[]) AND batch_id < %s
        """,
        (batch_id, sorted(sites), batch_id),
    )


def backlog(conn: psycopg.Connection[TupleRow]) -> int:
    """Batches some site's engine has not consumed yet (for `courtyard status` and metrics)."""
    row = conn.execute(
        """
        SELECT count(*) FROM batch_feed f
        WHERE f.id > coalesce((SELECT min(batch_id) FROM feed_cursors), 0)
        """
    ).fetchone()
    return int(row[0]) if row else 0


def prune(conn: psycopg.Connection[TupleRow], keep_s: float) -> int:
    """Delete batches every cursor has passed, and any older than `keep_s` seconds. A batch
    naming a site that has no cursor yet stays (until `keep_s`): no engine has evaluated it."""
    cur = conn.execute(
        """
        DELETE FROM batch_feed f
        WHERE f.committed_at < now() - make_interval(secs => %s)
           OR f.id <= coalesce((SELECT min(batch_id) FROM feed_cursors), 0)
              AND NOT EXISTS (
                  SELECT 1 FROM unnest(f.sites) AS named (site_id)
                  WHERE NOT EXISTS (
                      SELECT 1 FROM feed_cursors c WHERE c.site_id = named.site_id))
        """,
        (keep_s,),
    )
    return cur.rowcount


def series_names(
    conn: psycopg.Connection[TupleRow], series_ids: Collection[int]
) -> dict[int, tuple[str, str, str]]:
    """series id -> (site, device, metric), for decoding feed readings."""
    rows = conn.execute(
        """
        SELECT s.id, d.site_id, d.device_key, s.metric
        FROM series s JOIN devices d ON d.id = s.device_id
        WHERE s.id = ANY(%s::integer[])
        """,
        (list(series_ids),),
    ).fetchall()
    return {int(i): (str(site), str(dev), str(metric)) for i, site, dev, metric in rows}


def device_names(
    conn: psycopg.Connection[TupleRow], device_ids: Collection[int]
) -> dict[int, tuple[str, str]]:
    """device id -> (site, device), for decoding feed events."""
    rows = conn.execute(
        "SELECT id, site_id, device_key FROM devices WHERE id = ANY(%s::bigint[])",
        (list(device_ids),),
    ).fetchall()
    return {int(i): (str(site), str(dev)) for i, site, dev in rows}

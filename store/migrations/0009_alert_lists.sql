-- The API's alert lists are keyset pages newest first (ORDER BY id DESC), usually of one site's
-- unresolved alerts. alerts_site_id_idx (0005) serves a site's whole history; for its unresolved
-- alerts it still steps over every resolved one newer than the page, and the planner preferred
-- the primary key backwards with a filter. This index holds only the unresolved alerts, and
-- store/api_alerts.py spells out `status <> 'resolved'` so that it applies.
-- (alerts is a plain table on both back ends.)
CREATE INDEX alerts_unresolved_site_id_idx ON alerts (site_id, id DESC)
    WHERE status <> 'resolved';

-- Alerts: rule definitions and their state, households and the people who look after them,
-- alerts with their change history, and the notification outbox.
-- Enumerations are CHECK constraints over stable English codes (the API speaks the same codes).

CREATE TABLE rules (
    id          text PRIMARY KEY,
    kind        text NOT NULL,                  -- catalog entry, e.g. "threshold", "inactivity"
    site_id     text REFERENCES sites (id),     -- NULL: every site
    scope       jsonb NOT NULL DEFAULT '{}',    -- which devices, metrics or households it watches
    params      jsonb NOT NULL DEFAULT '{}',
    category    text NOT NULL CHECK (category IN ('maintenance', 'care', 'security')),
    severity    text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    enabled     boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- What a rule must remember across a restart of the rules engine: pending holds, learned
-- baselines. No foreign key to rules: catalog rules may live in code only, and the state of a
-- deleted rule is removed by the engine (store.rule_state.delete).
CREATE TABLE rule_state (
    rule_id     text NOT NULL,
    key         text NOT NULL,                  -- a series or a subject
    state       jsonb NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (rule_id, key)
);

-- A household of an elderly resident; `label` is pseudonymous (people read it in notifications),
-- `contact` holds the resident's real details and is shown only to the people assigned.
CREATE TABLE households (
    site_id     text NOT NULL REFERENCES sites (id),
    id          text NOT NULL,
    label       text NOT NULL,
    -- IANA name; NULL means the site's. Converting a timestamp rejects an unknown name.
    timezone    text CHECK (timezone IS NULL
                            OR (TIMESTAMPTZ '2000-01-01 00:00:00+00' AT TIME ZONE timezone)
                               IS NOT NULL),
    -- Local times; start > end spans midnight (22:00-07:00). Both or neither.
    quiet_start time,
    quiet_end   time,
    contact     jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (site_id, id),
    CHECK ((quiet_start IS NULL) = (quiet_end IS NULL))
);

-- Which household a device belongs to, by the device id of its topic: a household can be set up
-- before its devices first speak (the registry only knows devices that have).
CREATE TABLE household_devices (
    site_id         text NOT NULL,
    device_key      text NOT NULL,
    household_id    text NOT NULL,
    PRIMARY KEY (site_id, device_key),
    FOREIGN KEY (site_id, household_id) REFERENCES households (site_id, id) ON DELETE CASCADE
);
CREATE INDEX household_devices_household_idx ON household_devices (site_id, household_id);

CREATE TABLE people (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('volunteer', 'staff', 'manager')),
    language    text NOT NULL DEFAULT 'zh-CN' CHECK (language IN ('zh-CN', 'en')),
    -- channel name -> target, e.g. {"webhook": "https://...", "apprise": ["mailto://..."]}
    channels    jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(channels) = 'object'),
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Who is notified of what. Care escalation tiers: 1 = 'primary' volunteers of the household,
-- 2 = 'backup' volunteers, 3 = the site's 'staff'. Maintenance and security go to 'manager's.
CREATE TABLE assignments (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person_id       text NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    site_id         text NOT NULL REFERENCES sites (id),
    household_id    text,
    role            text NOT NULL CHECK (role IN ('primary', 'backup', 'staff', 'manager')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (site_id, household_id) REFERENCES households (site_id, id) ON DELETE CASCADE,
    -- Volunteers are assigned to a household, staff and managers to a whole site.
    CHECK ((role IN ('primary', 'backup')) = (household_id IS NOT NULL)),
    UNIQUE NULLS NOT DISTINCT (person_id, site_id, household_id, role)
);
CREATE INDEX assignments_target_idx ON assignments (site_id, household_id, role);

CREATE TABLE alerts (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dedup_key           text NOT NULL,          -- rule + subject
    rule_id             text NOT NULL,          -- no FK: an alert outlives its rule's definition
    site_id             text NOT NULL REFERENCES sites (id),
    subject             text NOT NULL,
    household_id        text,
    category            text NOT NULL CHECK (category IN ('maintenance', 'care', 'security')),
    severity            text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    status              text NOT NULL DEFAULT 'open'
                        CHECK (status IN ('open', 'acknowledged', 'resolved')),
    summary_key         text NOT NULL,          -- gettext message id; args fill its placeholders
    summary_args        jsonb NOT NULL DEFAULT '{}',
    value               double precision,
    metric              text,
    first_seen          timestamptz NOT NULL,
    last_seen           timestamptz NOT NULL,
    occurrences         integer NOT NULL DEFAULT 1 CHECK (occurrences > 0),
    assignee            text REFERENCES people (id) ON DELETE SET NULL,
    outcome             text CHECK (outcome IS NULL OR (
                            category = 'care'
                            AND outcome IN ('resident_fine', 'needed_help', 'no_answer',
                                            'false_alarm'))),
    escalation_tier     integer NOT NULL DEFAULT 1 CHECK (escalation_tier BETWEEN 1 AND 3),
    next_escalation_at  timestamptz,
    next_reminder_at    timestamptz,
    acknowledged_at     timestamptz,
    acknowledged_by     text,
    resolved_at         timestamptz,
    resolved_by         text,
    -- The history stays when a household is removed; only the link goes.
    FOREIGN KEY (site_id, household_id)
        REFERENCES households (site_id, id) ON DELETE SET NULL (household_id),
    CHECK (last_seen >= first_seen),
    CHECK ((status = 'resolved') = (resolved_at IS NOT NULL)),
    CHECK ((status = 'open') = (acknowledged_at IS NULL) OR status = 'resolved')
);
-- One open (or acknowledged) alert per dedup key, enforced here rather than by the callers:
-- concurrent raises of the same key meet in this index, and INSERT ... ON CONFLICT turns the
-- loser into a repeat. Resolved alerts leave the index, so the next raise opens a new alert.
CREATE UNIQUE INDEX alerts_one_open_per_key ON alerts (dedup_key) WHERE status <> 'resolved';
CREATE INDEX alerts_open_site_idx ON alerts (site_id, last_seen DESC) WHERE status <> 'resolved';
CREATE INDEX alerts_escalation_due_idx ON alerts (next_escalation_at)
    WHERE status = 'open' AND next_escalation_at IS NOT NULL;
CREATE INDEX alerts_reminder_due_idx ON alerts (next_reminder_at)
    WHERE status <> 'resolved' AND next_reminder_at IS NOT NULL;
CREATE INDEX alerts_household_idx ON alerts (site_id, household_id, first_seen DESC)
    WHERE household_id IS NOT NULL;
CREATE INDEX alerts_first_seen_idx ON alerts (first_seen DESC);

CREATE TABLE alert_changes (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert_id    bigint NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    at          timestamptz NOT NULL,
    actor       text NOT NULL CHECK (actor = 'system' OR actor ~ '^(rule|user):.+$'),
    change      text NOT NULL CHECK (change IN (
                    'raised', 'repeated', 'acknowledged', 'assigned', 'commented', 'outcome',
                    'resolved', 'auto_resolved', 'escalated', 'reminded')),
    details     jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX alert_changes_alert_idx ON alert_changes (alert_id, id);

-- Every recorded change is announced to LISTENers (API processes feeding SSE). pg_notify is
-- transactional: the notification goes out at commit, and never for a rolled-back change.
CREATE FUNCTION courtyard_notify_alert_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    a alerts%ROWTYPE;
BEGIN
    SELECT * INTO a FROM alerts WHERE id = NEW.alert_id;
    PERFORM pg_notify('courtyard_alert_changes', json_build_object(
        'alert_id', NEW.alert_id,
        'change_id', NEW.id,
        'change', NEW.change,
        'site_id', a.site_id,
        'household_id', a.household_id,
        'category', a.category
    )::text);
    RETURN NULL;
END;
$$;

CREATE TRIGGER alert_changes_notify AFTER INSERT ON alert_changes
    FOR EACH ROW EXECUTE FUNCTION courtyard_notify_alert_change();

-- The notification outbox: written in the transaction that records the change, delivered at
-- least once by senders that claim due rows with FOR UPDATE SKIP LOCKED.
-- `next_attempt_at` is when a row is next claimable: for 'pending' the retry time, for
-- 'sending' the end of the sender's lease (a sender killed mid-send loses its claim, not the row).
CREATE TABLE notifications (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert_change_id     bigint NOT NULL REFERENCES alert_changes (id) ON DELETE CASCADE,
    alert_id            bigint NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    receiver            text NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    channel             text NOT NULL,
    -- "<alert_change_id>:<receiver>:<channel>": enqueued once, sent with this key so that the
    -- far end can drop a redelivery.
    idempotency_key     text NOT NULL UNIQUE,
    payload             jsonb NOT NULL,
    status              text NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    attempts            integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at     timestamptz NOT NULL,
    last_error          text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    sent_at             timestamptz,
    CHECK ((status = 'sent') = (sent_at IS NOT NULL))
);
CREATE INDEX notifications_due_idx ON notifications (next_attempt_at)
    WHERE status IN ('pending', 'sending');
CREATE INDEX notifications_alert_idx ON notifications (alert_id);

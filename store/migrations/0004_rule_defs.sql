-- Rule definitions carry what the rules file says beyond kind, scope and params: a description
-- for people, whether a cleared condition resolves its alert, and the notification policy
-- (escalation delay, reminders, quiet hours). Defaults match a definition that leaves them out.
ALTER TABLE rules
    ADD COLUMN description  text NOT NULL DEFAULT '',
    ADD COLUMN auto_resolve boolean NOT NULL DEFAULT true,
    ADD COLUMN notify       jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(notify) = 'object');

-- Access to the HTTP API: users and their roles, site scopes, API tokens, dashboard sessions,
-- and the audit log of who read residents' details.

-- A user is someone (or something) that calls the API. Volunteers are linked to their `people`
-- row: their assignments say which households they may see. Roles:
--   admin        everything, every site
--   manager      facilities, alerts and households of the sites in user_sites
--   volunteer    the households they are assigned to (primary or backup): care alerts only
--   operator     device registry, readings, rules, rejects; no residents, no alerts
--   integration  only the permissions its token names (least privilege)
CREATE TABLE users (
    id              text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_.@-]{1,64}$'),
    name            text NOT NULL,
    role            text NOT NULL
                    CHECK (role IN ('admin', 'manager', 'volunteer', 'operator', 'integration')),
    person_id       text REFERENCES people (id),
    -- true: every site, present and future (user_sites is then ignored)
    all_sites       boolean NOT NULL DEFAULT false,
    -- argon2id (argon2-cffi's encoded form); NULL: this user signs in with API tokens only
    password_hash   text,
    active          boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (role <> 'volunteer' OR person_id IS NOT NULL)
);

CREATE TABLE user_sites (
    user_id     text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    site_id     text NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, site_id)
);

-- Bearer tokens. Only a SHA-256 of the secret is kept: the secret is 32 random bytes, so a fast
-- hash is enough (a slow password hash protects guessable secrets, which these are not).
CREATE TABLE api_tokens (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id         text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name            text NOT NULL,
    token_hash      bytea NOT NULL UNIQUE,
    -- NULL: every permission of the user's role; otherwise narrowed to these (required for
    -- integration users)
    scopes          text[],
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    revoked_at      timestamptz,
    last_used_at    timestamptz
);
CREATE INDEX api_tokens_user_idx ON api_tokens (user_id);

-- Dashboard logins: the cookie holds a random secret, the table its SHA-256. The CSRF token
-- travels in pages and forms and must come back with every state-changing request.
CREATE TABLE dashboard_sessions (
    id_hash         bytea PRIMARY KEY,
    user_id         text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token      text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_seen_at    timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    revoked_at      timestamptz
);
CREATE INDEX dashboard_sessions_user_idx ON dashboard_sessions (user_id);

-- Who did or saw what: every read of residents' contact details, logins, tokens issued.
-- No foreign keys: the trail outlives the users and households it names.
CREATE TABLE audit_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor       text NOT NULL,          -- "user:<id>", or "anonymous" for a failed login
    action      text NOT NULL,          -- e.g. "household.contact.read", "session.login"
    target      text NOT NULL DEFAULT '',
    site_id     text,
    details     jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at_idx ON audit_log (at DESC);
CREATE INDEX audit_log_actor_idx ON audit_log (actor, at DESC);

-- The API lists alerts newest first within a site (keyset on id), resolved ones included.
CREATE INDEX alerts_site_id_idx ON alerts (site_id, id DESC);

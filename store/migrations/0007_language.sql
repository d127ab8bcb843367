-- Languages and time zones people read: a platform default for new sites, a site default, and
-- each dashboard user's own choice. Storage stays UTC; these only say how times are shown and
-- which local day and hour rules count in.

-- The defaults a site gets when nothing else is said: one row, set from the settings
-- (COURTYARD_LOCALE__DEFAULT_LANGUAGE / __DEFAULT_TIMEZONE) by store.site_defaults.apply.
CREATE TABLE site_defaults (
    only_row    boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    language    text NOT NULL DEFAULT 'zh-CN' CHECK (language IN ('zh-CN', 'en')),
    -- Converting a timestamp rejects an unknown zone name.
    timezone    text NOT NULL DEFAULT 'Asia/Shanghai'
                CHECK ((TIMESTAMPTZ '2000-01-01 00:00:00+00' AT TIME ZONE timezone) IS NOT NULL),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO site_defaults DEFAULT VALUES;

-- Sites that register themselves (a device's first message) take the default zone.
CREATE FUNCTION courtyard_default_timezone() RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT timezone FROM site_defaults), 'Asia/Shanghai')
$$;
ALTER TABLE sites ALTER COLUMN timezone SET DEFAULT courtyard_default_timezone();

-- NULL: the platform default (site_defaults.language).
ALTER TABLE sites ADD COLUMN language text CHECK (language IS NULL OR language IN ('zh-CN', 'en'));

-- NULL: the linked person's language if any, else the browser's, else the site's.
ALTER TABLE users ADD COLUMN language text CHECK (language IS NULL OR language IN ('zh-CN', 'en'));

-- Buildings of a site, and the building a household lives in. Devices get no building column:
-- their ids already name it (the simulators' "b01-elevator-01"), and a site-wide device has none.

CREATE TABLE buildings (
    site_id     text NOT NULL REFERENCES sites (id),
    id          text NOT NULL,
    name        text NOT NULL,
    floors      integer CHECK (floors > 0),     -- NULL: not known
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (site_id, id)
);

-- NULL: not said. Removing a building keeps its households; only the link goes.
ALTER TABLE households ADD COLUMN building_id text;
ALTER TABLE households ADD CONSTRAINT households_building_fkey
    FOREIGN KEY (site_id, building_id)
    REFERENCES buildings (site_id, id) ON DELETE SET NULL (building_id);
CREATE INDEX households_building_idx ON households (site_id, building_id)
    WHERE building_id IS NOT NULL;

-- What a device is, as people say it: a name (and names per language), a kind from a catalogue,
-- a place (building, unit, room; household through household_devices), an install date and
-- notes; inside a household, a role. Inference only suggests: a kind with `kind_confirmed` and
-- a household device's `role` (only people set it) are never overwritten by ingest.

-- The catalogue. Shipped kinds (`builtin`) are labelled through the translation catalogue
-- (i18n/labels.py); an operator's own kind carries its label in `name` / `names`.
CREATE TABLE device_kinds (
    code            text PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9_]{0,63}$'),
    category        text NOT NULL CHECK (category IN ('facility', 'access', 'home', 'other')),
    -- The role a device of this kind suggests inside a household (NULL: none).
    household_role  text CHECK (household_role IN ('front_door', 'other_door', 'motion', 'bed',
                                                   'seat', 'sos', 'appliance', 'other')),
    name            text,
    names           jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(names) = 'object'),
    builtin         boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT now()
);

INSERT INTO device_kinds (code, category, household_role, builtin) VALUES
    ('water_tank', 'facility', NULL, true),
    ('booster_pump', 'facility', NULL, true),
    ('elevator', 'facility', NULL, true),
    ('street_light', 'facility', NULL, true),
    ('room_climate', 'facility', NULL, true),
    ('smoke_detector', 'facility', NULL, true),
    ('leak_detector', 'facility', NULL, true),
    ('water_meter', 'facility', NULL, true),
    ('electricity_meter', 'facility', NULL, true),
    ('gate_reader', 'access', NULL, true),
    ('face_gate', 'access', NULL, true),
    ('unit_door', 'access', NULL, true),
    ('door_contact', 'home', 'front_door', true),
    ('motion_sensor', 'home', 'motion', true),
    ('bed_sensor', 'home', 'bed', true),
    ('seat_sensor', 'home', 'seat', true),
    ('sos_button', 'home', 'sos', true),
    ('fall_detector', 'home', 'sos', true),
    ('smart_plug', 'home', 'appliance', true),
    ('climate_sensor', 'home', NULL, true),
    ('water_flow_sensor', 'home', 'appliance', true),
    ('button', 'home', NULL, true),
    ('other', 'other', 'other', true);

-- A device may be described before it first speaks (a community registers its devices before
-- fitting them): first_seen and last_seen stay NULL until its first message.
ALTER TABLE devices
    ALTER COLUMN first_seen DROP NOT NULL,
    ALTER COLUMN last_seen DROP NOT NULL,
    ADD COLUMN names jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(names) = 'object'),
    ADD COLUMN kind_confirmed boolean NOT NULL DEFAULT false,
    ADD COLUMN building_id text,
    ADD COLUMN unit text,
    ADD COLUMN room text,
    ADD COLUMN installed_on date,
    ADD COLUMN notes text,
    -- What inference says the device is for in a household, and the room of that role.
    ADD COLUMN role_suggested text CHECK (role_suggested IN (
        'front_door', 'other_door', 'motion', 'bed', 'seat', 'sos', 'appliance', 'other')),
    ADD COLUMN role_room_suggested text;
ALTER TABLE devices ADD CONSTRAINT devices_building_fkey
    FOREIGN KEY (site_id, building_id)
    REFERENCES buildings (site_id, id) ON DELETE SET NULL (building_id);
CREATE INDEX devices_building_idx ON devices (site_id, building_id) WHERE building_id IS NOT NULL;

-- The role people gave a device in its household (NULL: take the suggestion).
ALTER TABLE household_devices
    ADD COLUMN role text CHECK (role IN (
        'front_door', 'other_door', 'motion', 'bed', 'seat', 'sos', 'appliance', 'other')),
    ADD COLUMN role_room text;

-- Suggestions for the devices stored so far, from the metrics and events they sent and, for
-- beds and seats, their names (earlier versions called a bed mat a motion sensor).
WITH seen AS (
    SELECT d.id,
           coalesce((SELECT array_agg(s.metric) FROM series s WHERE s.device_id = d.id),
                    '{}') AS m,
           coalesce((SELECT array_agg(DISTINCT e.type) FROM events e WHERE e.device_id = d.id),
                    '{}') AS e,
           lower(regexp_replace(coalesce(d.name, '') || ' ' || d.device_key, '[_./-]+', ' ', 'g'))
               AS words
    FROM devices d
)
UPDATE devices d SET kind = coalesce(CASE
        WHEN 'sos' = ANY(seen.e) THEN 'sos_button'
        WHEN 'fall' = ANY(seen.e) THEN 'fall_detector'
        WHEN ('occupancy' = ANY(seen.m) OR 'motion' = ANY(seen.e))
             AND seen.words ~ '(\mbed\M|mattress|床)' THEN 'bed_sensor'
        WHEN ('occupancy' = ANY(seen.m) OR 'motion' = ANY(seen.e))
             AND seen.words ~ '(\mseat\M|\mchair\M|\msofa\M|\mcouch\M|椅|沙发)' THEN 'seat_sensor'
        WHEN 'water_leak' = ANY(seen.m) THEN 'leak_detector'
        WHEN 'smoke' = ANY(seen.m) THEN 'smoke_detector'
        WHEN 'trips' = ANY(seen.m) THEN 'elevator'
        WHEN 'level_pct' = ANY(seen.m) THEN 'water_tank'
        WHEN seen.m @> '{pressure_bar,current_a}' THEN 'booster_pump'
        WHEN 'granted_count' = ANY(seen.m) OR 'access_granted' = ANY(seen.e)
             OR 'access_denied' = ANY(seen.e) THEN
             CASE WHEN d.kind = 'face_gate' THEN 'face_gate'
                  WHEN d.kind = 'unit_door' THEN 'unit_door' ELSE 'gate_reader' END
        WHEN 'door_open' = ANY(seen.m) THEN
             CASE WHEN d.kind = 'unit_door' THEN 'unit_door' ELSE 'door_contact' END
        WHEN 'occupancy' = ANY(seen.m) OR 'motion' = ANY(seen.e) THEN 'motion_sensor'
        WHEN seen.m @> '{state,power_w}' THEN 'smart_plug'
        WHEN seen.m @> '{on,power_w}' THEN 'street_light'
        WHEN 'water_m3' = ANY(seen.m) THEN 'water_meter'
        WHEN 'flow_lpm' = ANY(seen.m) THEN 'water_flow_sensor'
        WHEN 'energy_kwh' = ANY(seen.m) AND d.kind = 'smart_plug' THEN 'smart_plug'
        WHEN 'energy_kwh' = ANY(seen.m) THEN 'electricity_meter'
        WHEN 'temperature_c' = ANY(seen.m) OR 'humidity_pct' = ANY(seen.m) THEN
             CASE WHEN d.kind = 'equipment_room' THEN 'room_climate' ELSE 'climate_sensor' END
        WHEN 'button' = ANY(seen.e) THEN 'button'
    END, CASE d.kind
        WHEN 'door_sensor' THEN 'door_contact'
        WHEN 'meter' THEN 'electricity_meter'
        WHEN 'card_reader' THEN 'gate_reader'
        WHEN 'equipment_room' THEN 'room_climate'
        ELSE d.kind
    END)
FROM seen WHERE seen.id = d.id;

-- Role suggestions from the kind and the device's name (the rules guessed these from names
-- until now: bed|chair|sofa|couch for rest, every door contact a front door). A door named for
-- another room (fridge, 冰箱, bedroom ...) is another door.
WITH named AS (
    SELECT d.id, k.household_role AS role,
           lower(regexp_replace(coalesce(d.name, '') || ' ' || d.device_key, '[_./-]+', ' ', 'g'))
               AS words
    FROM devices d JOIN device_kinds k ON k.code = d.kind
    WHERE k.household_role IS NOT NULL
), roomed AS (
    SELECT id, role, words, CASE
        WHEN words ~ '(\mfridge\M|refrigerator|freezer|冰箱|冰柜)' THEN 'fridge'
        WHEN words ~ '(cupboard|cabinet|wardrobe|closet|drawer|柜|抽屉)' THEN 'cupboard'
        WHEN words ~ '(balcony|terrace|阳台|露台)' THEN 'balcony'
        WHEN words ~ '(bathroom|toilet|washroom|restroom|shower|\mwc\M|卫生间|浴室|厕所|洗手间)'
             THEN 'bathroom'
        WHEN words ~ '(bedroom|卧室|睡房)' THEN 'bedroom'
        WHEN words ~ '(kitchen|厨房)' THEN 'kitchen'
        WHEN words ~ '(\mliving\M|lounge|客厅|起居室)' THEN 'living_room'
        WHEN words ~ '(\mhall|corridor|走廊|过道|门厅|玄关)' THEN 'hallway'
    END AS room
    FROM named
)
UPDATE devices d SET
    role_suggested = CASE
        WHEN r.role <> 'front_door' THEN r.role
        WHEN r.words ~ '(\mfront\M|entrance|\mentry\M|\mmain door|大门|入户门|进户门|户门|正门)'
             OR r.room IS NULL OR r.room = 'hallway' THEN 'front_door'
        ELSE 'other_door'
    END,
    role_room_suggested = CASE
        WHEN r.role = 'motion' THEN r.room
        WHEN r.role = 'front_door'
             AND NOT r.words ~ '(\mfront\M|entrance|\mentry\M|\mmain door|大门|入户门|进户门|户门|正门)'
             AND r.room IS NOT NULL AND r.room <> 'hallway' THEN r.room
    END
FROM roomed r WHERE r.id = d.id;

-- Each household device with the role it plays: the one people gave, else the device's
-- suggestion, else its kind's. `role_confirmed`: a person said so. A device listed in a
-- household before it first spoke has no devices row yet: its role is people's or none.
CREATE VIEW household_device_roles AS
SELECT hd.site_id, hd.household_id, hd.device_key, d.id AS device_id,
       coalesce(hd.role, d.role_suggested, k.household_role) AS role,
       CASE WHEN hd.role IS NOT NULL THEN hd.role_room ELSE d.role_room_suggested END
           AS role_room,
       hd.role IS NOT NULL AS role_confirmed
FROM household_devices hd
LEFT JOIN devices d ON d.site_id = hd.site_id AND d.device_key = hd.device_key
LEFT JOIN device_kinds k ON k.code = d.kind;

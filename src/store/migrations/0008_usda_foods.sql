-- Foods imported from the USDA SR28 release by `consilium data import-usda DIR`. Owned by
-- src/health/nutrition/usda.rs. Public-domain reference data, not user data: one copy for
-- every user, replaced whole by each import.

CREATE TABLE usda_foods (
    ndb         TEXT PRIMARY KEY,        -- SR28 NDB number, five digits
    name        TEXT NOT NULL,           -- SR28 long description
    food_group  TEXT NOT NULL,
    nutrients   TEXT NOT NULL,           -- JSON: the reported nutrients per 100 g
    measures    TEXT NOT NULL            -- JSON: [{amount, unit, grams}] household measures
);

CREATE TABLE usda_import (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    release      TEXT NOT NULL,
    foods        INTEGER NOT NULL,
    imported_at  TEXT NOT NULL
);

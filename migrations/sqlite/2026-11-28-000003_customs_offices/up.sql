-- The customs offices named in seizures, so filters and form suggestions read a handful of
-- rows instead of scanning every seizure.
CREATE TABLE customs_offices (
    name TEXT PRIMARY KEY NOT NULL,
    created_at TIMESTAMP NOT NULL
);
INSERT INTO customs_offices (name, created_at)
SELECT customs_office, MIN(created_at) FROM seizures GROUP BY customs_office;

-- Retention until a date is part of the disposition "retained" (SPEC: disposition).
ALTER TABLE samples ADD COLUMN retained_until TEXT;
ALTER TABLE custody_events ADD COLUMN retained_until TEXT;
-- Whether the quantity received is enough for the requested tests (receipt at the lab).
ALTER TABLE custody_events ADD COLUMN quantity_sufficient BOOLEAN;

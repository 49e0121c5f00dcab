-- Format rules per customs office for the acta reference and the declaration (DAM) number:
-- a pattern (N digit, A letter, X letter or digit, + repeats, 'quoted' literal) and an
-- example shown to the user. NULL means the built-in SUNAT default (src/office.rs).
ALTER TABLE customs_offices ADD COLUMN reference_pattern TEXT;
ALTER TABLE customs_offices ADD COLUMN reference_example TEXT;
ALTER TABLE customs_offices ADD COLUMN declaration_pattern TEXT;
ALTER TABLE customs_offices ADD COLUMN declaration_example TEXT;
-- A national tariff's Spanish wording, shown in the Spanish interface when present.
ALTER TABLE tariff_lines ADD COLUMN description_es TEXT;

ALTER TABLE tariff_lines DROP COLUMN description_es;
ALTER TABLE customs_offices DROP COLUMN declaration_example;
ALTER TABLE customs_offices DROP COLUMN declaration_pattern;
ALTER TABLE customs_offices DROP COLUMN reference_example;
ALTER TABLE customs_offices DROP COLUMN reference_pattern;

DROP TABLE customs_offices;

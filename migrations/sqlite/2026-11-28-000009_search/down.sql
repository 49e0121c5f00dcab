DROP TRIGGER search_terms_seizure_change;
DROP TRIGGER search_terms_seizure_new;
DROP TRIGGER search_terms_custody_new_seal;
DROP TRIGGER search_terms_custody_seal;
DROP TRIGGER search_terms_sample_seal;
DROP TRIGGER search_terms_sample_new;
DROP TABLE search_terms;

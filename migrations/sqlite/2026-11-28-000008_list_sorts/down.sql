DROP INDEX seizures_declaration_prefix_idx;
DROP INDEX seizures_reference_prefix_idx;
DROP INDEX samples_seal_prefix_idx;
DROP INDEX samples_lab_code_prefix_idx;
DROP INDEX samples_priority_sort_idx;
DROP INDEX samples_due_sort_idx;
DROP INDEX seizures_registered_by_idx;
DROP INDEX samples_holder_idx;
ALTER TABLE samples DROP COLUMN holder_id;

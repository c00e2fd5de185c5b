DROP INDEX cases_active_priority_idx;
DROP INDEX cases_active_entered_idx;

"""The import engine: one protocol (validate → lock → plan → apply → finalize, or rollback)
for every file kind. Kinds plug in their field map, row validator and planner."""

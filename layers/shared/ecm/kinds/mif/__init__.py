"""Member Information Files (seed 000): columns, row rules, and matching rows to patients."""

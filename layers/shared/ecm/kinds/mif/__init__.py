"""Member Information Files (docs/using/mif-imports.md): columns, row rules, and matching rows to
patients."""

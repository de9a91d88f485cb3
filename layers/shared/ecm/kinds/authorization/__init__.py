"""Authorization files (docs/using/authorization-imports.md): columns, row rules, matching by
AUTH_NO, and the member statuses authorizations set."""

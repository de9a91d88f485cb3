"""Authorization files (seed 001): columns, row rules, matching by AUTH_NO, and the member
statuses authorizations set."""

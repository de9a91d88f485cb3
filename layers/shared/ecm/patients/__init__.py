"""The caseload (docs/api/patients.md): patient items and their lookup keys (``items``), the
patients API, case loads, providers, care activities, and the list counts kept with the data."""

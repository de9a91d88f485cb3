"""The all-or-nothing import protocol, one module per Step Functions state.

validate (no lock: rows only) → lock → plan (matching under the lock, so two imports never
plan against the same state) → apply chunks (Map) → finalize; any failure after validate
→ rollback: restore every touched item to its prior image, delete what was created, put the
id counters back, mark the file failed, release the lock. Every stage is idempotent.
"""

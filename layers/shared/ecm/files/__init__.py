"""Where a file's bytes come from (``sources``, behind the SSRF guard ``netguard``) and how
they become records (``readers``: one per format, detection, the header search), through a
file kind's field map (``fields``)."""

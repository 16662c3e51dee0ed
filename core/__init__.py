"""Fanbase's shared ground, below every domain app: no models, no domain words.

Error base and handler (``errors``), API helpers (``api``, ``pagination``, ``schema``,
``routing``), partial updates (``services.model_update``), the request fingerprint
(``fingerprint``), SQL that differs between SQLite and PostgreSQL (``sql``), and the
chunked job runner (``jobs``). See docs/core.md.
"""

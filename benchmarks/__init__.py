"""The benchmark harness: ``python -m benchmarks --scale default|small|tiny`` (``make bench``).

Modules: ``cli`` (the run), ``scales``, ``database`` (its own PostgreSQL database),
``dataset`` (set-based generation), ``fixtures`` (per-run keys, tokens, members),
``payloads`` (the orders), ``registry`` (benchmarks, results, targets), ``cases/``
(one module per hot path), ``server`` (gunicorn), ``loadgen`` (open-loop HTTP),
``report`` (table, JSON, comparison). See docs/performance.md.
"""

"""The merchant's dashboard: daily metrics per merchant (filled by a beat job), the
``GET /api/v1/merchant/metrics`` series, and the admin index with its charts.

- ``models``: the daily tables (``MerchantDailyMetrics`` and its breakdowns by tier and
  by coupon template/source/campaign).
- ``jobs``: the set-based ``INSERT ... SELECT ... GROUP BY`` that fills one day for a
  range of merchants, the backfill, and the beat job's fan-out through ``core.jobs``.
- ``selectors``: what the API and the charts read (daily tables and fan snapshots only).
- ``apis``: the metrics endpoint; ``charts`` and ``site``: the admin dashboard.

See docs/dashboard.md.
"""

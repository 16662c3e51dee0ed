"""What Celery beat runs and when (django-celery-beat copies it into its tables,
where an operator can pause or retime an entry in the admin)."""

from celery.schedules import crontab

BEAT_SCHEDULE = {
    # The transactional outbox: what the after-commit fast path could not send, every
    # 10 s (core.outbox.OUTBOX_RELAY_INTERVAL, docs/outbox.md).
    "relay-outbox": {"task": "core.outbox_relay", "schedule": 10.0},
    "prune-outbox-nightly": {"task": "core.outbox_prune", "schedule": crontab(hour=3, minute=40)},
    "expire-points-nightly": {"task": "loyalty.expire_points", "schedule": crontab(hour=2, minute=15)},
    # In the morning (UTC), so that a merchant's messaging can tell shoppers during the day.
    "announce-expiring-points-daily": {
        "task": "loyalty.announce_expiring_points",
        "schedule": crontab(hour=8, minute=0),
    },
    # After the day's orders, before the points expiry: one tier down at most per night.
    "review-tiers-nightly": {"task": "loyalty.review_tiers", "schedule": crontab(hour=1, minute=45)},
    # Webhook deliveries whose backoff is over (the first attempt goes at once, via the outbox).
    "retry-webhooks": {"task": "members.webhook_retry_due", "schedule": crontab(minute="*")},
    "expire-coupons-nightly": {"task": "coupons.expire_coupons", "schedule": crontab(hour=2, minute=30)},
    # Delayed repurchase coupons are promised per day; every 15 minutes keeps them on time.
    "issue-due-coupons": {"task": "coupons.issue_due_coupons", "schedule": crontab(minute="*/15")},
    # Scores decay continuously; hourly promotion keeps the iron-fan ratio within the hour.
    "recompute-iron-fans": {"task": "members.recompute_iron_fans", "schedule": crontab(minute=5)},
    # After midnight UTC, for the day that just ended (a later run keeps the row as it is).
    "snapshot-fan-stats-nightly": {
        "task": "members.snapshot_fan_stats",
        "schedule": crontab(hour=0, minute=20),
    },
    # After the fan snapshots (00:20): yesterday's merchant metrics for the dashboard.
    "daily-metrics-nightly": {"task": "loyalty.daily_metrics", "schedule": crontab(hour=0, minute=40)},
    "prune-engagement-nightly": {"task": "members.prune_engagement", "schedule": crontab(hour=3, minute=0)},
    # Stage windows are hours long; every 10 minutes judges them on time and delivers the
    # pushes the daily cap deferred soon after midnight.
    # Orders reach the shoppers' preferences through this job (not the order's transaction).
    "advance-rollouts": {"task": "storefront.advance_rollouts", "schedule": crontab(minute="*/10")},
}

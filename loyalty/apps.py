from django.apps import AppConfig


class LoyaltyConfig(AppConfig):
    name = "loyalty"
    verbose_name = "Loyalty"

    def ready(self) -> None:
        # The deploy checks register themselves; so do the Celery task counters.
        from loyalty import checks, metrics  # noqa: F401
        from loyalty.celery import ensure_broker_folders

        ensure_broker_folders()

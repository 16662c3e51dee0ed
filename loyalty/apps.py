from django.apps import AppConfig


class LoyaltyConfig(AppConfig):
    name = "loyalty"
    verbose_name = "Loyalty"

    def ready(self) -> None:
        from loyalty import checks  # noqa: F401  (registers the deploy checks)
        from loyalty.celery import ensure_broker_folders

        ensure_broker_folders()

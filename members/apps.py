from django.apps import AppConfig


class MembersConfig(AppConfig):
    name = "members"
    verbose_name = "Members and fans"

    def ready(self) -> None:
        from members import schema  # noqa: F401  (registers the OpenAPI auth schemes)

from django.core.management.base import BaseCommand, CommandError

from core.errors import DomainError
from loyalty.services.memberships import merchant_onboard


class Command(BaseCommand):
    help = "Create a merchant with its brand account and an API key; the key is the last line of output."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)

    def handle(self, *args, slug: str, name: str, **options):
        from members.models import SLUG_VALIDATOR

        try:
            SLUG_VALIDATOR(slug)
        except Exception as exc:
            raise CommandError(
                f"Invalid slug {slug!r}: {' '.join(getattr(exc, 'messages', [str(exc)]))}"
            ) from None
        try:
            merchant, key = merchant_onboard(slug=slug, name=name)
        except DomainError as exc:
            raise CommandError(exc.detail) from None
        self.stdout.write(f"Created merchant {merchant.slug!r} with brand account @{merchant.slug}.")
        self.stdout.write("API key (shown once; send it as 'Authorization: Api-Key <key>'):")
        self.stdout.write(key)

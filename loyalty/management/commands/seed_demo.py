from django.core.management.base import BaseCommand

from loyalty.demo import DEMO_PASSWORD, seed_demo


class Command(BaseCommand):
    help = "Load the demo merchants, staff, shoppers, follows and memberships (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")

    def handle(self, *args, base_url: str, **options):
        logins = seed_demo()
        out = self.stdout.write
        out("")
        out("Fanbase demo is ready.")
        out(f"  Admin:     {base_url}/admin/   superuser {logins.superuser} / {DEMO_PASSWORD}")
        for slug, username in logins.staff.items():
            out(f"             staff of {slug}: {username} / {DEMO_PASSWORD}")
        out(f"  API docs:  {base_url}/api/docs/")
        out(
            f"  Shoppers:  {', '.join(logins.shoppers)} (password {DEMO_PASSWORD}); "
            f"POST {base_url}/api/v1/auth/token for a token"
        )
        for slug, key in logins.api_keys.items():
            out(f"  Merchant API key for {slug}: Authorization: Api-Key {key}")
        slug, platform_id = logins.unclaimed
        out(
            f"  Claim:     {platform_id} bought at {slug} before having a login; registering that id needs "
            f"the code from POST {base_url}/api/v1/merchant/shoppers/{platform_id}/claim-code ({slug}'s key)"
        )
        out("")

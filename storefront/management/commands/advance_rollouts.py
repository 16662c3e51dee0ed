from django.core.management.base import BaseCommand

from storefront.services.rollouts import rollouts_advance


class Command(BaseCommand):
    help = (
        "The rollout step by hand: deliver deferred pushes, finish unfinished stage sends, "
        "and move or hold each rollout whose stage window is over. Prints what moved."
    )

    def handle(self, *args, **options):
        moves = rollouts_advance()
        for move in moves:
            reason = f" ({move.reason})" if move.reason else ""
            self.stdout.write(f"{move.merchant}/{move.sku}: {move.from_stage} -> {move.to_stage}{reason}")
        self.stdout.write(f"{len(moves)} rollouts moved.")

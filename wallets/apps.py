from typing import TYPE_CHECKING

from django.apps import AppConfig

if TYPE_CHECKING:
    from smsbox.models import User


class WalletsConfig(AppConfig):
    name = "wallets"

    def ready(self) -> None:
        from smsbox.lifecycle import register_deletion_handler
        from wallets import checks  # noqa: F401  (registers the start-up checks)

        register_deletion_handler(_forfeit_on_account_deletion)


def _forfeit_on_account_deletion(user: "User") -> None:
    """An account being deleted forfeits its remaining balance by a ledger entry."""
    from wallets.models import Wallet
    from wallets.services import Reference, wallet_forfeit

    wallet = Wallet.objects.filter(user=user).first()
    if wallet is not None:
        wallet_forfeit(
            wallet=wallet,
            reference=Reference("account_deletion", user.pk),
            memo="Account deleted: remaining balance forfeited.",
        )

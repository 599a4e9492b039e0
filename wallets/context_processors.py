from functools import cache

from django.http import HttpRequest

from wallets.selectors import wallet_for_user


def balance(request: HttpRequest) -> dict:
    """``nav_balance``: the signed-in customer's balance (None without a wallet). A callable, so
    the query runs only on pages that show it (the layout), never for fragments."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    @cache
    def read():
        wallet = wallet_for_user(user=user)
        return wallet.balance if wallet is not None else None

    return {"nav_balance": read}

"""5sim's API on smsbox (``/5sim/v1/…``): thin endpoints over the services and selectors every
other interface uses.

The key is a Bearer token; countries, operators and products go by 5sim's names (``usa``,
``any``, ``telegram``; ``providers.dialect_ids``). Success is JSON; a refusal is 5sim's plain
text with its HTTP status (``no free phones``, ``not enough user balance``, ``order not
found`` …), 401 without a valid key, 429 over the rate limit. An activation's order id is its
id; a hosting order (a long-term rental) is ``HOSTING_BASE`` + the rental's id, because 5sim
has one order numbering for both.
"""

import re
from datetime import UTC, datetime
from decimal import Decimal

from django.http import HttpResponse, JsonResponse
from django.urls import path

from apikeys.throttling import Refusal, account_rate_limit
from providers.dialect_ids import country_by_fivesim, service_by_fivesim
from providers.models import Country, Service
from providers.selectors import quote_list
from rentals import rental_selectors, selectors, services
from rentals.dialects.common import (
    Call,
    Dialect,
    DialectError,
    Endpoint,
    endpoint_schema,
    endpoint_view,
)
from rentals.errors import CancelAfterSms, NoActivation
from rentals.handler.transport import number
from rentals.models import Activation, NumberBan, Rental
from rentals.rental_errors import RentalNotFound
from rentals.services import rentals as rental_services
from rentals.services.policy import spend_policy_effective
from smsbox import parsing
from smsbox.errors import ApplicationError
from wallets.selectors import ledger_entries, wallet_for_user, wallet_summary

HOSTING_BASE = 10**12
HOSTING_PRODUCTS = {"3hours": 3, "1day": 24, "10days": 240, "1month": 720}
State = Activation.State
RentalState = Rental.State

# smsbox's error code → 5sim's HTTP status and text.
_ERRORS: dict[str, tuple[int, str]] = {
    "NO_NUMBERS": (400, "no free phones"),
    "WRONG_MAX_PRICE": (400, "no free phones"),
    "NO_BALANCE": (400, "not enough user balance"),
    "CHANNELS_LIMIT": (400, "not enough rating"),
    "SPEND_LIMIT": (403, "spend limit reached"),
    "DAILY_CAP": (403, "daily spend limit reached"),
    "BAD_SERVICE": (400, "no product"),
    "BAD_COUNTRY": (400, "bad country"),
    "NO_ACTIVATION": (404, "order not found"),
    "NOT_FOUND": (404, "order not found"),
    "NO_ID_RENT": (404, "order not found"),
    "EARLY_CANCEL_DENIED": (400, "you need to wait time"),
    "BAD_STATUS": (400, "order is not active"),
    "CANT_CANCEL": (400, "order can not be cancelled"),
    "INVALID_TIME": (400, "no product"),
    "INVALID_PACKAGE": (400, "no product"),
    "MAX_HOURS_EXCEED": (400, "no product"),
    "RENT_DIE": (400, "order expired"),
    "RENTAL_NOT_ACTIVE": (400, "order expired"),
    "ALREADY_FINISH": (400, "order expired"),
    "ALREADY_CANCEL": (400, "order expired"),
    "STATUS_REVOKE": (400, "order expired"),
    "RENTAL_BUSY": (409, "order is busy, try again"),
}


def _text(body: str, status: int) -> HttpResponse:
    return HttpResponse(body, status=status, content_type="text/plain")


class FiveSim(Dialect):
    def unauthorized(self) -> HttpResponse:
        return _text("Unauthorized", 401)

    def banned(self, until: datetime) -> HttpResponse:
        return _text(f"user banned until {until:%Y-%m-%d %H:%M:%S}", 403)

    def refused(self, refusal: Refusal, user) -> HttpResponse:
        if refusal.code == "ACCOUNT_BLOCKED":
            response = _text("too many failed requests, account blocked for a while", 429)
        else:
            response = _text(f"api limit is {account_rate_limit(user)} requests per second", 429)
        response["Retry-After"] = str(refusal.retry_after)
        return response

    def refusal(self, exc: DialectError) -> HttpResponse:
        return _text(exc.message, exc.status or 400)

    def failure(self, exc: ApplicationError) -> HttpResponse:
        if isinstance(exc, CancelAfterSms):
            return _text("order has sms", 400)
        status, body = _ERRORS.get(exc.code, (400, exc.message.lower()))
        return _text(body, status)

    def server_error(self) -> HttpResponse:
        return _text("internal error", 500)


DIALECT = FiveSim()


def _json(data) -> JsonResponse:
    return JsonResponse(data, safe=False, json_dumps_params={"ensure_ascii": False})


def _time(value: datetime | None) -> str | None:
    """5sim's timestamps: RFC 3339 in UTC with a ``Z``."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ") if value else None


# --- parameters -------------------------------------------------------------------------------
def _country(name: str, *, any_ok: bool = True) -> Country | None:
    if any_ok and name.strip().lower() == "any":
        return None
    country = country_by_fivesim(name)
    if country is None:
        raise DialectError("bad country")
    return country


def _product(name: str) -> Service:
    service = service_by_fivesim(name)
    if service is None:
        raise DialectError("no product")
    return service


def _operator(name: str) -> str:
    name = name.strip().lower()[:32]
    return "" if name in ("any", "") else name


def _order_id(call: Call) -> int:
    raw = call.path.get("id", "")
    if not parsing.is_digits(raw):
        raise DialectError("order not found", status=404)
    return int(raw)


def _activation(call: Call) -> Activation:
    try:
        return selectors.activation_get_for_user(user=call.user, ident=_order_id(call))
    except NoActivation:
        raise DialectError("order not found", status=404) from None


def _rental(call: Call, order_id: int) -> Rental:
    try:
        return rental_selectors.rental_get_for_user(user=call.user, ident=order_id - HOSTING_BASE)
    except RentalNotFound:
        raise DialectError("order not found", status=404) from None


def _max_price(call: Call) -> Decimal | None:
    raw = call.get("maxPrice", "maxprice")
    if not raw:
        return None
    price = parsing.or_none(parsing.amount, raw, name="max_price", positive=True)
    if price is None:
        raise DialectError("bad maxPrice")
    return price


def _cheapest_country(service: Service, operator: str) -> Country:
    """``any`` country: the one where ``service`` is cheapest now."""
    quotes = quote_list(service=service, operator=operator)
    if not quotes:
        raise DialectError("no free phones")
    best = min(quotes, key=lambda q: (q.retail_price, -q.stock))
    return Country.objects.get(pk=best.country_id)


# --- orders as 5sim shows them ----------------------------------------------------------------
def _activation_status(activation: Activation) -> str:
    state = activation.state
    if state in (State.RECEIVED, State.RESEND):
        return "RECEIVED"
    if state == State.COMPLETED:
        return "FINISHED"
    if state == State.EXPIRED:
        return "TIMEOUT"
    if state in Activation.REFUNDED_STATES:
        banned = NumberBan.objects.filter(activation=activation).exists()
        return "BANNED" if banned else "CANCELED"
    return "PENDING"


_RENTAL_STATUS = {
    RentalState.ACTIVE: "RECEIVED",
    RentalState.EXPIRED: "FINISHED",
    RentalState.FINISHED: "FINISHED",
    RentalState.CANCELLED: "CANCELED",
    RentalState.REVOKED: "CANCELED",
    RentalState.FAILED: "CANCELED",
}


def _sms(message) -> dict:
    return {
        "created_at": _time(message.received_at),
        "date": _time(message.received_at),
        "sender": message.sender,
        "text": message.text,
        "code": message.code,
    }


def _phone(raw: str) -> str:
    return f"+{raw}" if raw else ""


def _activation_order(activation: Activation) -> dict:
    messages = selectors.messages_for_activation(activation=activation)
    return {
        "id": activation.pk,
        "phone": _phone(activation.phone),
        "operator": activation.operator or "any",
        "product": activation.service.fivesim_name or activation.service.code,
        "price": number(activation.price),
        "status": _activation_status(activation),
        "expires": _time(activation.expires_at),
        "sms": [_sms(m) for m in messages],
        "created_at": _time(activation.created_at),
        "forwarding": False,
        "forwarding_number": "",
        "country": activation.country.fivesim_name,
    }


def _hosting_product(rental: Rental) -> str:
    hours = rental_selectors.rental_duration_of(rental).total_hours
    return next((p for p, h in HOSTING_PRODUCTS.items() if h == hours), f"{hours}hours")


def _rental_order(rental: Rental) -> dict:
    messages = rental_selectors.rental_messages(rental=rental)
    return {
        "id": HOSTING_BASE + rental.pk,
        "phone": _phone(rental.phone),
        "operator": rental.operator or "any",
        "product": _hosting_product(rental),
        "price": number(rental.price),
        "status": _RENTAL_STATUS.get(rental.state, "PENDING"),
        "expires": _time(rental.expires_at),
        "sms": [_sms(m) for m in messages],
        "created_at": _time(rental.created_at),
        "forwarding": False,
        "forwarding_number": "",
        "country": rental.country.fivesim_name,
    }


# --- the user's endpoints ---------------------------------------------------------------------
def profile(call: Call) -> HttpResponse:
    """The account: balance, money held by open orders, how many orders may be open at once."""
    summary = wallet_summary(wallet=wallet_for_user(user=call.user))
    concurrent = spend_policy_effective(user=call.user).max_concurrent
    return _json(
        {
            "id": call.user.pk,
            "email": call.user.email,
            "vendor": "",
            "default_forwarding_number": "",
            "balance": number(summary.balance),
            "rating": concurrent if concurrent is not None else 96,
            "default_country": {"name": "any", "iso": "any", "prefix": "any"},
            "default_operator": {"name": "any"},
            "frozen_balance": number(summary.frozen_amount),
        }
    )


def buy_activation(call: Call) -> HttpResponse:
    """Buy a number for ``product`` (``any`` country: the cheapest one)."""
    service = _product(call.path["product"])
    operator = _operator(call.path["operator"])
    country = _country(call.path["country"]) or _cheapest_country(service, operator)
    activation = services.activation_purchase(
        user=call.user,
        service=service,
        country=country,
        operator=operator,
        max_price=_max_price(call),
    )
    if not activation.phone:  # the upstream's answer is not known yet: told no, abandoned
        activation = services.activation_abandon(activation=activation)
    if not activation.phone:
        raise DialectError("no free phones")
    return _json(_activation_order(activation))


def _hosting_hours(product: str) -> int:
    product = product.strip().lower()
    if product in HOSTING_PRODUCTS:
        return HOSTING_PRODUCTS[product]
    match = re.fullmatch(r"([0-9]{1,4})(hours?|days?)", product)
    if match is None:
        raise DialectError("no product")
    return int(match[1]) * (24 if match[2].startswith("day") else 1)


def buy_hosting(call: Call) -> HttpResponse:
    """Rent a number for the time ``product`` names (``3hours``, ``1day``, ``10days``,
    ``1month``), for any service."""
    country = _country(call.path["country"], any_ok=False)
    rental = rental_services.rental_purchase(
        user=call.user,
        country=country,
        hours=_hosting_hours(call.path["product"]),
        operator=_operator(call.path["operator"]),
    )
    if rental.state != RentalState.ACTIVE or not rental.phone:  # told no: abandoned
        rental = rental_services.rental_abandon(rental=rental)
    if rental.state != RentalState.ACTIVE or not rental.phone:
        raise DialectError("no free phones")
    return _json(_rental_order(rental))


def _act(call: Call, activation_service, rental_service) -> HttpResponse:
    order_id = _order_id(call)
    if order_id > HOSTING_BASE:
        if rental_service is None:
            raise DialectError("hosting order")
        rental = _rental(call, order_id)
        if rental_service is not True:
            rental = rental_service(rental=rental)
        return _json(_rental_order(rental))
    activation = _activation(call)
    if activation_service is not None:
        activation = activation_service(activation=activation)
    return _json(_activation_order(activation))


def check(call: Call) -> HttpResponse:
    """An order with its SMS."""
    return _act(call, None, True)


def finish(call: Call) -> HttpResponse:
    """Finish an order (an activation without an SMS is cancelled and refunded)."""
    return _act(call, services.activation_finish, rental_services.rental_finish)


def cancel(call: Call) -> HttpResponse:
    """Cancel an order before any SMS and refund it."""
    return _act(call, services.activation_cancel, rental_services.rental_cancel)


def _ban(*, activation: Activation) -> Activation:
    """Cancel and refund, then never sell this number to the customer again."""
    cancelled = services.activation_cancel(activation=activation)
    services.number_skip(activation=cancelled)
    return cancelled


def ban(call: Call) -> HttpResponse:
    """The number does not work for the product: cancel and refund, and never again."""
    return _act(call, _ban, None)


def sms_inbox(call: Call) -> HttpResponse:
    """The SMS of an order (a hosting order's, or an activation's)."""
    order_id = _order_id(call)
    if order_id > HOSTING_BASE:
        messages = list(rental_selectors.rental_messages(rental=_rental(call, order_id)))
    else:
        messages = list(selectors.messages_for_activation(activation=_activation(call)))
    return _json({"Data": [_sms(m) for m in messages], "Total": len(messages)})


def _page(call: Call) -> tuple[int, int, bool]:
    raw_limit, raw_offset = call.get("limit"), call.get("offset")
    for raw in (raw_limit, raw_offset):
        if raw and not parsing.is_digits(raw, max_length=9):
            raise DialectError("bad limit or offset")
    limit = min(int(raw_limit or 15), 100) or 15
    return limit, int(raw_offset or 0), call.get("reverse").lower() == "true"


def orders(call: Call) -> HttpResponse:
    """The account's orders of one ``category`` (``activation``, the default, or ``hosting``),
    newest first (``reverse=true``: oldest first)."""
    category = call.get("category").lower() or "activation"
    if category not in ("activation", "hosting"):
        raise DialectError("bad category")
    limit, offset, reverse = _page(call)
    if category == "hosting":
        rows, render = rental_selectors.rentals_for_user(user=call.user), _rental_order
    else:
        rows, render = selectors.activations_for_user(user=call.user), _activation_order
    if reverse:
        rows = rows.reverse()
    data = [render(row) for row in rows[offset : offset + limit]]
    products = sorted({order["product"] for order in data})
    return _json(
        {
            "Data": data,
            "ProductNames": [{"Name": p} for p in products],
            "Statuses": [
                {"Name": s}
                for s in ("PENDING", "RECEIVED", "CANCELED", "TIMEOUT", "FINISHED", "BANNED")
            ],
            "Total": rows.count(),
        }
    )


def payments(call: Call) -> HttpResponse:
    """Every money movement of the account (the ledger), newest first."""
    wallet = wallet_for_user(user=call.user)
    limit, offset, reverse = _page(call)
    entries = ledger_entries(wallet=wallet) if wallet else None
    if entries is not None and reverse:
        entries = entries.reverse()
    rows = list(entries[offset : offset + limit]) if entries is not None else []
    return _json(
        {
            "Data": [
                {
                    "ID": e.pk,
                    "TypeName": e.kind,
                    "ProviderName": e.reference_kind or "smsbox",
                    "Amount": number(e.amount),
                    "Balance": number(e.balance_after),
                    "CreatedAt": _time(e.created_at),
                }
                for e in rows
            ],
            "PaymentTypes": [{"Name": k} for k in sorted({e.kind for e in rows})],
            "PaymentProviders": [
                {"Name": p} for p in sorted({e.reference_kind or "smsbox" for e in rows})
            ],
            "Total": entries.count() if entries is not None else 0,
        }
    )


# --- guest endpoints (no key) -----------------------------------------------------------------
def products(call: Call) -> HttpResponse:
    """What can be bought in a country (``any``: everywhere) now: activations per product and,
    where numbers are rented, the hosting durations."""
    country = _country(call.path["country"])
    quotes = quote_list(country=country, operator=_operator(call.path["operator"]))
    names = dict(Service.objects.values_list("pk", "fivesim_name"))
    body: dict[str, dict] = {}
    for quote in quotes:
        entry = body.setdefault(
            names[quote.service_id], {"Category": "activation", "Qty": 0, "Price": None}
        )
        entry["Qty"] += quote.stock
        price = number(quote.retail_price)
        entry["Price"] = price if entry["Price"] is None else min(entry["Price"], price)
    if country is not None and country.rent and quotes:
        body.update(_hosting_products(country, stock=max(q.stock for q in quotes)))
    return _json(body)


def _hosting_products(country: Country, *, stock: int) -> dict[str, dict]:
    offered = {}
    for product, hours in HOSTING_PRODUCTS.items():
        try:
            quote = rental_selectors.rental_quote(country=country, hours=hours)
        except ApplicationError:  # no plan, or a duration out of the allowed range
            continue
        offered[product] = {"Category": "hosting", "Qty": stock, "Price": number(quote.price)}
    return offered


def prices(call: Call) -> HttpResponse:
    """Prices and stock by country, product and operator (``country`` and ``product`` filter;
    with only ``product`` the product comes first)."""
    country = _country(call.get("country"), any_ok=False) if call.get("country") else None
    service = _product(call.get("product")) if call.get("product") else None
    countries = dict(Country.objects.values_list("pk", "fivesim_name"))
    names = dict(Service.objects.values_list("pk", "fivesim_name"))
    body: dict[str, dict] = {}
    for quote in quote_list(service=service, country=country):
        outer, inner = countries[quote.country_id], names[quote.service_id]
        if service is not None and country is None:
            outer, inner = inner, outer
        line = {"cost": number(quote.retail_price), "count": quote.stock, "rate": 0}
        body.setdefault(outer, {})[inner] = {"any": line}
    return _json(body)


def countries_list(call: Call) -> HttpResponse:
    """Every country by its 5sim name, with its ISO code and calling prefix."""
    return _json(
        {
            c.fivesim_name: {
                "iso": {c.iso.lower(): 1},
                "prefix": {f"+{c.calling_code}": 1},
                "text_en": c.name_en,
                "text_ru": c.name_ru,
            }
            for c in Country.objects.filter(visible=True).exclude(fivesim_name="")
        }
    )


# --- endpoints --------------------------------------------------------------------------------
_KEY = {
    401: {"Unauthorized": "Unauthorized"},
    429: {"Rate limited": "api limit is 32 requests per second"},
}
_NOT_FOUND = {404: {"order not found": "order not found"}}
_ORDER_EXAMPLE = {
    "id": 635468024,
    "phone": "+12025550143",
    "operator": "any",
    "product": "telegram",
    "price": 0.8,
    "status": "RECEIVED",
    "expires": "2026-12-04T10:50:57.000000Z",
    "sms": [
        {
            "created_at": "2026-12-04T10:31:20.000000Z",
            "date": "2026-12-04T10:31:20.000000Z",
            "sender": "Telegram",
            "text": "Telegram code 123456",
            "code": "123456",
        }
    ],
    "created_at": "2026-12-04T10:30:57.000000Z",
    "forwarding": False,
    "forwarding_number": "",
    "country": "usa",
}
_BUY_ERRORS = {
    400: {
        "no free phones": "no free phones",
        "not enough user balance": "not enough user balance",
        "no product": "no product",
        "bad country": "bad country",
    },
    **_KEY,
}
_HOSTING_EXAMPLE = {**_ORDER_EXAMPLE, "id": HOSTING_BASE + 1049, "product": "1day", "sms": []}
_HISTORY = {
    "Data": [_ORDER_EXAMPLE],
    "ProductNames": [{"Name": "telegram"}],
    "Statuses": [{"Name": "RECEIVED"}],
    "Total": 1,
}

ENDPOINTS = [
    Endpoint(
        "v1/user/profile",
        profile,
        "Profile and balance",
        example={
            "id": 7,
            "email": "demo@example.com",
            "vendor": "",
            "default_forwarding_number": "",
            "balance": 12.5,
            "rating": 100,
            "default_country": {"name": "any", "iso": "any", "prefix": "any"},
            "default_operator": {"name": "any"},
            "frozen_balance": 0.8,
        },
        errors=_KEY,
    ),
    Endpoint(
        "v1/user/buy/activation/<str:country>/<str:operator>/<str:product>",
        buy_activation,
        "Buy an activation number",
        ("maxPrice",),
        example={**_ORDER_EXAMPLE, "status": "PENDING", "sms": []},
        errors=_BUY_ERRORS,
    ),
    Endpoint(
        "v1/user/buy/hosting/<str:country>/<str:operator>/<str:product>",
        buy_hosting,
        "Rent a number (hosting: 3hours, 1day, 10days, 1month)",
        example=_HOSTING_EXAMPLE,
        errors=_BUY_ERRORS,
    ),
    Endpoint(
        "v1/user/check/<str:id>",
        check,
        "An order and its SMS",
        example=_ORDER_EXAMPLE,
        errors={**_NOT_FOUND, **_KEY},
    ),
    Endpoint(
        "v1/user/finish/<str:id>",
        finish,
        "Finish an order",
        example={**_ORDER_EXAMPLE, "status": "FINISHED"},
        errors={400: {"order is not active": "order is not active"}, **_NOT_FOUND, **_KEY},
    ),
    Endpoint(
        "v1/user/cancel/<str:id>",
        cancel,
        "Cancel and refund an order",
        example={**_ORDER_EXAMPLE, "status": "CANCELED", "sms": []},
        errors={
            400: {
                "order has sms": "order has sms",
                "you need to wait time": "you need to wait time",
            },
            **_NOT_FOUND,
            **_KEY,
        },
    ),
    Endpoint(
        "v1/user/ban/<str:id>",
        ban,
        "Ban the number: cancel, refund, never again",
        example={**_ORDER_EXAMPLE, "status": "BANNED", "sms": []},
        errors={
            400: {"order has sms": "order has sms", "hosting order": "hosting order"},
            **_NOT_FOUND,
            **_KEY,
        },
    ),
    Endpoint(
        "v1/user/sms/inbox/<str:id>",
        sms_inbox,
        "SMS of an order",
        example={"Data": _ORDER_EXAMPLE["sms"], "Total": 1},
        errors={**_NOT_FOUND, **_KEY},
    ),
    Endpoint(
        "v1/user/orders",
        orders,
        "Order history",
        ("category", "limit", "offset", "order", "reverse"),
        example=_HISTORY,
        errors={400: {"bad category": "bad category"}, **_KEY},
    ),
    Endpoint(
        "v1/user/payments",
        payments,
        "Payment history (the ledger)",
        ("limit", "offset", "order", "reverse"),
        example={
            "Data": [
                {
                    "ID": 1,
                    "TypeName": "deposit",
                    "ProviderName": "topup",
                    "Amount": 100.0,
                    "Balance": 100.0,
                    "CreatedAt": "2026-12-04T10:00:00.000000Z",
                }
            ],
            "PaymentTypes": [{"Name": "deposit"}],
            "PaymentProviders": [{"Name": "topup"}],
            "Total": 1,
        },
        errors={400: {"bad limit or offset": "bad limit or offset"}, **_KEY},
    ),
    Endpoint(
        "v1/guest/products/<str:country>/<str:operator>",
        products,
        "Products of a country",
        guest=True,
        example={
            "telegram": {"Category": "activation", "Qty": 10, "Price": 0.8},
            "1day": {"Category": "hosting", "Qty": 10, "Price": 3.0},
        },
        errors={400: {"bad country": "bad country"}},
    ),
    Endpoint(
        "v1/guest/prices",
        prices,
        "Prices",
        ("country", "product"),
        guest=True,
        example={"usa": {"telegram": {"any": {"cost": 0.8, "count": 10, "rate": 0}}}},
        errors={400: {"bad country": "bad country", "no product": "no product"}},
    ),
    Endpoint(
        "v1/guest/countries",
        countries_list,
        "Countries",
        guest=True,
        example={
            "usa": {"iso": {"us": 1}, "prefix": {"+1": 1}, "text_en": "USA", "text_ru": "США"}
        },
        errors={},
    ),
]


def urlpatterns() -> list:
    patterns = []
    for endpoint in ENDPOINTS:
        params = tuple(re.findall(r"<str:([a-z]+)>", endpoint.path))
        schema = endpoint_schema(endpoint, tag="5sim", error_media="text/plain", path_params=params)
        view = endpoint_view(DIALECT, endpoint.run, schema=schema, guest=endpoint.guest)
        patterns.append(path(f"5sim/{endpoint.path}", view.as_view()))
    return patterns

"""SMSPool's API on smsbox (``/smspool/…``): thin endpoints over the services and selectors
every other interface uses.

Transport (what SMSPool's clients send): GET or POST, parameters in the query string or a form
body, the key as ``key`` or ``Authorization: Bearer``, an order as ``order_id`` or ``orderid``,
paths with or without ``.php``. Answers are JSON; a refusal is ``{"success":0,"message":…,
"type":CODE}`` with HTTP 200 as SMSPool answers it (401 for a missing or wrong key, 403 for a
banned account, 429 over the rate limit). An order's ``order_id`` is its display number (the
numeric id is accepted too); statuses are SMSPool's codes (``rentals.status``).
"""

import json
from datetime import datetime
from decimal import Decimal

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path, re_path
from django.utils import timezone

from apikeys.throttling import Refusal, account_rate_limit
from providers.dialect_ids import (
    country_by_smspool,
    service_by_smspool,
    smspool_country_ident,
    smspool_country_name,
    smspool_service_ident,
)
from providers.models import Country, Service
from providers.selectors import offer_quote, quote_list
from rentals import rental_selectors, selectors, services
from rentals.dialects.common import (
    Call,
    Dialect,
    DialectError,
    Endpoint,
    endpoint_schema,
    endpoint_view,
)
from rentals.errors import NoActivation
from rentals.models import Activation, Rental
from rentals.rental_errors import RentalNotFound
from rentals.services import rental_reorder
from rentals.services import rentals as rental_services
from rentals.status import smspool_code, smspool_label
from smsbox import parsing
from smsbox.errors import ApplicationError
from smsbox.money import ZERO, format_money, to_cents
from wallets.selectors import wallet_for_user

RENTAL_DAYS = (1, 7, 14, 30)  # the durations rental/retrieve_all prices
HISTORY_MAX = 100


class SmsPool(Dialect):
    def raw_key(self, request: HttpRequest, params: dict[str, str]) -> str | None:
        scheme, _, credentials = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() == "bearer" and credentials.strip():
            return credentials.strip()
        return params.get("key") or super().raw_key(request, params)

    def unauthorized(self) -> HttpResponse:
        return _fail("Invalid API key, get yours on the API page.", "BAD_KEY", status=401)

    def banned(self, until: datetime) -> HttpResponse:
        return _fail(f"Your account is banned until {until:%Y-%m-%d %H:%M:%S}.", "BANNED", 403)

    def refused(self, refusal: Refusal, user) -> HttpResponse:
        if refusal.code == "ACCOUNT_BLOCKED":
            message = "Too many failed requests: your account is blocked for a moment."
        else:
            message = f"Rate limit reached: {account_rate_limit(user)} requests per second."
        response = _fail(message, refusal.code, status=429)
        response["Retry-After"] = str(refusal.retry_after)
        return response

    def refusal(self, exc: DialectError) -> HttpResponse:
        return _fail(exc.message, exc.code or "BAD_REQUEST", status=exc.status or 200)

    def failure(self, exc: ApplicationError) -> HttpResponse:
        return _fail(exc.message, exc.code)

    def server_error(self) -> HttpResponse:
        return _fail("Something went wrong on our side, please try again.", "ERROR", status=500)


DIALECT = SmsPool()


def _fail(message: str, code: str, status: int = 200) -> JsonResponse:
    return JsonResponse({"success": 0, "message": message, "type": code}, status=status)


def _json(data) -> JsonResponse:
    return JsonResponse(data, safe=False, json_dumps_params={"ensure_ascii": False})


def _unix(value: datetime | None) -> int | None:
    return int(value.timestamp()) if value else None


# --- parameters -------------------------------------------------------------------------------
def _country(call: Call, *, required: bool = True) -> Country | None:
    raw = call.get("country")
    if not raw and not required:
        return None
    country = country_by_smspool(raw)
    if country is None:
        raise DialectError("This country does not exist or is not offered.", code="BAD_COUNTRY")
    return country


def _service(call: Call, *names: str, required: bool = True) -> Service | None:
    raw = call.get(*(names or ("service",)))
    if not raw and not required:
        return None
    service = service_by_smspool(raw)
    if service is None:
        raise DialectError("This service does not exist or is not offered.", code="BAD_SERVICE")
    return service


def _order(call: Call) -> Activation:
    ident = call.get("order_id", "orderid", "orderID")
    if not ident:
        raise DialectError("Specify an order_id.", code="NO_ACTIVATION")
    try:
        return selectors.activation_get_for_user(user=call.user, ident=ident[:40])
    except NoActivation:
        raise DialectError("Order not found.", code="NO_ACTIVATION") from None


def _rental(call: Call) -> Rental:
    ident = call.get("rental_code", "rental_id", "order_id", "orderid")
    if not ident:
        raise DialectError("Specify a rental_code.", code="NO_ID_RENT")
    try:
        return rental_selectors.rental_get_for_user(user=call.user, ident=ident[:40])
    except RentalNotFound:
        raise DialectError("Rental not found.", code="NO_ID_RENT") from None


def _whole(call: Call, name: str, default: int, *, low: int = 1, high: int = 10_000) -> int:
    raw = call.get(name)
    if not raw:
        return default
    if not parsing.is_digits(raw, max_length=6) or not low <= int(raw) <= high:
        raise DialectError(f"{name} must be a whole number from {low} to {high}.", code="BAD_DATA")
    return int(raw)


def _max_price(call: Call) -> Decimal | None:
    raw = call.get("max_price")
    if not raw:
        return None
    price = parsing.or_none(parsing.amount, raw, name="max_price", positive=True)
    if price is None:
        raise DialectError("max_price must be a positive amount.", code="WRONG_MAX_PRICE")
    return price


# --- balance and catalog ----------------------------------------------------------------------
def balance(call: Call) -> HttpResponse:
    """Balance of the account."""
    wallet = wallet_for_user(user=call.user)
    return _json({"balance": format_money(wallet.balance if wallet else ZERO)})


def countries(call: Call) -> HttpResponse:
    """Every country (no key needed)."""
    return _json(
        [
            {
                "ID": smspool_country_ident(c),
                "name": smspool_country_name(c),
                "short_name": c.iso,
                "cc": c.calling_code,
                "region": "",
            }
            for c in Country.objects.filter(visible=True).order_by("name_en")
        ]
    )


def services_list(call: Call) -> HttpResponse:
    """Every service, or those in stock in ``country`` (no key needed)."""
    rows = Service.objects.filter(visible=True).order_by("name")
    country = _country(call, required=False)
    if country is not None:
        rows = rows.filter(pk__in=[q.service_id for q in quote_list(country=country)])
    return _json([{"ID": smspool_service_ident(s), "name": s.name} for s in rows])


def price(call: Call) -> HttpResponse:
    """What a number of ``service`` in ``country`` costs now."""
    service, country = _service(call), _country(call)
    quote = offer_quote(service=service, country=country)
    if quote is None:
        raise DialectError("This service is not available in this country now.", code="NO_NUMBERS")
    return _json(
        {
            "success": 1,
            "price": format_money(quote.retail_price),
            "high_price": format_money(quote.retail_price),
            "stock": quote.stock,
            "pool": 1,
        }
    )


# --- activations ------------------------------------------------------------------------------
def _order_data(activation: Activation, *, now: datetime) -> dict:
    phone, cc = activation.phone, activation.country.calling_code
    return {
        "success": 1,
        "number": phone,
        "cc": cc,
        "phonenumber": phone[len(cc) :] if cc and phone.startswith(cc) else phone,
        "order_id": activation.display_number,
        "orderid": activation.display_number,
        "country": smspool_country_name(activation.country),
        "service": activation.service.name,
        "pool": 1,
        "expires_in": max(int((activation.expires_at - now).total_seconds()), 0),
        "expiration": _unix(activation.expires_at),
        "cost": format_money(activation.price),
        "cost_in_cents": int(to_cents(activation.price) * 100),
        "message": f"You ordered a {activation.service.name} number for "
        f"{format_money(activation.price)}.",
    }


def _bought(activation: Activation) -> Activation:
    if not activation.phone:  # the upstream's answer is not known yet: told no, abandoned
        activation = services.activation_abandon(activation=activation)
    if not activation.phone:
        raise DialectError("No numbers are available right now.", code="NO_NUMBERS")
    return activation


def purchase_sms(call: Call) -> HttpResponse:
    """Buy a number (``quantity`` up to 50 buys several, one order each)."""
    service, country = _service(call), _country(call)
    quantity = _whole(call, "quantity", 1, high=50)
    now = timezone.now()
    args = {
        "user": call.user,
        "service": service,
        "country": country,
        "operator": "",
        "max_price": _max_price(call),
    }
    if quantity == 1:
        activation = services.activation_purchase(**args)
        return _json(_order_data(_bought(activation), now=now))
    result = services.activation_purchase_batch(**args, quantity=quantity)
    orders = [_order_data(i.activation, now=now) for i in result.items if i.activation]
    failed = [{"message": i.error.message, "type": i.error.code} for i in result.items if i.error]
    if not orders:
        raise DialectError(failed[0]["message"], code=failed[0]["type"])
    return _json({"success": 1, "orders": orders, "failed": failed})


def _check_data(activation: Activation, *, now: datetime) -> dict:
    message = activation.messages.order_by("-received_at", "-id").first()
    refunded = activation.state in Activation.REFUNDED_STATES
    return {
        "status": smspool_code(activation),
        "sms": (activation.code or "0") if not refunded else "0",
        "full_sms": message.text if message and not refunded else "0",
        "phonenumber": activation.phone,
        "order_id": activation.display_number,
        "expiration": _unix(activation.expires_at),
        "time_left": max(int((activation.expires_at - now).total_seconds()), 0),
        "resend": activation.resend_count,
    }


def check(call: Call) -> HttpResponse:
    """An order's status and code."""
    return _json(_check_data(_order(call), now=timezone.now()))


def resend(call: Call) -> HttpResponse:
    """Ask for another code (free, after a code)."""
    activation = services.activation_request_another_code(activation=_order(call))
    return _json(
        {
            "success": 1,
            "message": "Number has been requested again",
            "resend": activation.resend_count,
        }
    )


def cancel(call: Call) -> HttpResponse:
    """Cancel an order without an SMS and refund it."""
    services.activation_cancel(activation=_order(call))
    return _json({"success": 1, "message": "Your order has been cancelled and refunded."})


def _listed(activation: Activation, *, now: datetime) -> dict:
    return {
        "order_code": activation.display_number,
        "order_id": activation.display_number,
        "timestamp": timezone.localtime(activation.created_at).strftime("%Y-%m-%d %H:%M:%S"),
        "phonenumber": activation.phone,
        "code": activation.code or "0",
        "full_code": activation.code or "0",
        "short_name": activation.country.iso,
        "country": smspool_country_name(activation.country),
        "service": activation.service.name,
        "cost": format_money(activation.price),
        "status": smspool_label(activation),
        "status_code": smspool_code(activation),
        "expiry": _unix(activation.expires_at),
        "time_left": max(int((activation.expires_at - now).total_seconds()), 0),
    }


def active(call: Call) -> HttpResponse:
    """Orders still waiting for or holding a code."""
    rows = selectors.activations_for_user(user=call.user, state=list(Activation.OPEN_STATES))
    now = timezone.now()
    return _json([_listed(a, now=now) for a in rows[:HISTORY_MAX]])


def history(call: Call) -> HttpResponse:
    """Every order, newest first (``start``, ``length`` page through it; at most 100)."""
    start = _whole(call, "start", 0, low=0, high=10**9)
    length = _whole(call, "length", HISTORY_MAX, high=HISTORY_MAX)
    rows = selectors.activations_for_user(user=call.user)[start : start + length]
    now = timezone.now()
    return _json([_listed(a, now=now) for a in rows])


# --- long-term rentals ------------------------------------------------------------------------
def rentals_offered(call: Call) -> HttpResponse:
    """Countries with long-term rentals and their prices per number of days (no key needed);
    the key of each is the ``rental_id`` to buy it with."""
    offered = {}
    for country in Country.objects.filter(rent=True, rental_plans__active=True).distinct():
        pricing = {}
        for days in RENTAL_DAYS:
            try:
                quote = rental_selectors.rental_quote(country=country, hours=days * 24)
            except ApplicationError:  # a duration out of the allowed range
                continue
            pricing[str(days)] = float(quote.price)  # a JSON number, as SMSPool lists them
        if pricing:
            key = str(smspool_country_ident(country))
            offered[key] = {
                "ID": smspool_country_ident(country),
                "name": smspool_country_name(country),
                "region": "",
                "pricing": _pricing(pricing),
            }
    return _json(offered)


def _pricing(prices: dict[str, float]) -> str:
    return json.dumps(prices, separators=(",", ":"))  # SMSPool sends it as a JSON string


def _rental_data(rental: Rental) -> dict:
    return {
        "success": 1,
        "message": "",
        "phonenumber": rental.phone,
        "days": round(rental_selectors.rental_duration_of(rental).total_hours / 24),
        "rental_code": rental.display_number,
        "expiry": _unix(rental.expires_at),
    }


def purchase_rental(call: Call) -> HttpResponse:
    """Rent a number for ``days`` in the country ``rental_id`` names (``service_id``: for one
    service only)."""
    raw = call.get("rental_id", "id", "country")
    country = country_by_smspool(raw)
    if country is None:
        raise DialectError("This rental does not exist.", code="BAD_COUNTRY")
    service = _service(call, "service_id", required=False)
    days = _whole(call, "days", 1, high=365)
    rental = rental_services.rental_purchase(
        user=call.user, country=country, service=service, hours=days * 24
    )
    if rental.state != Rental.State.ACTIVE or not rental.phone:  # told no: abandoned
        rental = rental_services.rental_abandon(rental=rental)
    if rental.state != Rental.State.ACTIVE or not rental.phone:
        raise DialectError("No numbers are available right now.", code="NO_NUMBERS")
    return _json(_rental_data(rental))


def rental_status(call: Call) -> HttpResponse:
    """Whether a rental runs, until when, and how long it has run (hours)."""
    rental = _rental(call)
    runs = rental_selectors.rental_runs(rental)
    since = rental.started_at or rental.created_at
    return _json(
        {
            "success": 1,
            "status": {
                "expiry": _unix(rental.expires_at),
                "available": int(runs),
                "phonenumber": rental.phone,
                "activeFor": int((timezone.now() - since).total_seconds() // 3600),
                "state": rental.state,
            },
        }
    )


def rental_messages(call: Call) -> HttpResponse:
    """Every SMS a rental received, oldest first."""
    rental = _rental(call)
    messages = {
        str(i): {
            "ID": m.pk,
            "sender": m.sender or None,
            "message": m.text,
            "code": m.code or None,
            "timestamp": timezone.localtime(m.received_at).strftime("%d %b %Y %H:%M:%S"),
        }
        for i, m in enumerate(rental_selectors.rental_messages(rental=rental))
    }
    return _json({"success": 1, "messages": messages, "source": rental.display_number})


def extend(call: Call) -> HttpResponse:
    """Extend a rental by ``days`` (one that has ended is ordered again under a new code)."""
    rental = rental_reorder.rental_continue(
        rental=_rental(call), hours=_whole(call, "days", 1, high=365) * 24
    )
    if rental.state != Rental.State.ACTIVE:
        raise DialectError("No numbers are available right now.", code="NO_NUMBERS")
    fresh = rental_selectors.rental_get_for_user(user=call.user, ident=rental.pk)
    return _json({**_rental_data(fresh), "message": "Your rental has been successfully extended!"})


def refund(call: Call) -> HttpResponse:
    """Cancel a rental with a full refund (its first minutes, before any SMS)."""
    rental_services.rental_cancel(rental=_rental(call))
    return _json({"success": 1, "message": "Your rental has been refunded!"})


# --- endpoints --------------------------------------------------------------------------------
_KEY = {401: {"BAD_KEY": {"success": 0, "message": "Invalid API key.", "type": "BAD_KEY"}}}
_LIMITS = {
    429: {
        "RATE_LIMITED": {
            "success": 0,
            "message": "Rate limit reached: 32 requests per second.",
            "type": "RATE_LIMITED",
        }
    },
    403: {
        "BANNED": {
            "success": 0,
            "message": "Your account is banned until 2026-12-01 10:00:00.",
            "type": "BANNED",
        }
    },
}


def _errors(**codes: str) -> dict[int, dict]:
    """Error examples: the domain refusals (HTTP 200), the key's and the limits'."""
    refusals = {c: {"success": 0, "message": m, "type": c} for c, m in codes.items()}
    return {**({200: refusals} if refusals else {}), **_KEY, **_LIMITS}


_ORDER = {"order_id": "A2612041030XY7Q"}
_NOT_FOUND = {"NO_ACTIVATION": "Order not found."}
_RENTAL_NOT_FOUND = {"NO_ID_RENT": "Rental not found."}
_ORDER_EXAMPLE = {
    "success": 1,
    "number": "12025550143",
    "cc": "1",
    "phonenumber": "2025550143",
    "order_id": "A2612041030XY7Q",
    "orderid": "A2612041030XY7Q",
    "country": "USA",
    "service": "Telegram",
    "pool": 1,
    "expires_in": 1199,
    "expiration": 1764845457,
    "cost": "0.80",
    "cost_in_cents": 80,
    "message": "You ordered a Telegram number for 0.80.",
}
_LISTED_EXAMPLE = {
    "order_code": "A2612041030XY7Q",
    "order_id": "A2612041030XY7Q",
    "timestamp": "2026-12-04 10:30:57",
    "phonenumber": "12025550143",
    "code": "123456",
    "full_code": "123456",
    "short_name": "US",
    "country": "USA",
    "service": "Telegram",
    "cost": "0.80",
    "status": "completed",
    "status_code": 3,
    "expiry": 1764845457,
    "time_left": 0,
}
_RENTAL_EXAMPLE = {
    "success": 1,
    "message": "",
    "phonenumber": "12025550143",
    "days": 7,
    "rental_code": "R2612041030AB12",
    "expiry": 1765450257,
}

ENDPOINTS = [
    Endpoint("request/balance", balance, "Balance", example={"balance": "12.50"}, errors=_errors()),
    Endpoint(
        "country/retrieve_all",
        countries,
        "Countries",
        guest=True,
        example=[{"ID": 1, "name": "USA", "short_name": "US", "cc": "1", "region": ""}],
        errors={},
    ),
    Endpoint(
        "service/retrieve_all",
        services_list,
        "Services",
        ("country",),
        guest=True,
        example=[{"ID": "tg", "name": "Telegram"}],
        errors={
            200: {
                "BAD_COUNTRY": {
                    "success": 0,
                    "type": "BAD_COUNTRY",
                    "message": "This country does not exist.",
                }
            }
        },
    ),
    Endpoint(
        "request/price",
        price,
        "Price of a number",
        ("country", "service", "pool"),
        example={"success": 1, "price": "0.80", "high_price": "0.80", "stock": 10, "pool": 1},
        errors=_errors(
            BAD_SERVICE="This service does not exist or is not offered.",
            NO_NUMBERS="This service is not available in this country now.",
        ),
    ),
    Endpoint(
        "purchase/sms",
        purchase_sms,
        "Buy a number",
        ("country", "service", "pool", "max_price", "quantity"),
        example=_ORDER_EXAMPLE,
        errors=_errors(
            NO_BALANCE="The balance is too low for this.",
            NO_NUMBERS="No numbers are available.",
            WRONG_MAX_PRICE="No number is offered within the maximum price.",
            BAD_SERVICE="This service does not exist or is not offered.",
        ),
    ),
    Endpoint(
        "sms/check",
        check,
        "Status and code of an order",
        ("order_id", "orderid"),
        example={
            "status": 3,
            "sms": "123456",
            "full_sms": "Telegram code 123456",
            "phonenumber": "12025550143",
            "order_id": "A2612041030XY7Q",
            "expiration": 1764845457,
            "time_left": 1100,
            "resend": 0,
        },
        errors=_errors(**_NOT_FOUND),
    ),
    Endpoint(
        "sms/resend",
        resend,
        "Ask for another code",
        ("order_id", "orderid"),
        example={"success": 1, "message": "Number has been requested again", "resend": 1},
        errors=_errors(**_NOT_FOUND, BAD_STATUS="Another code can be requested only after a code."),
    ),
    Endpoint(
        "sms/cancel",
        cancel,
        "Cancel and refund an order",
        ("order_id", "orderid"),
        example={"success": 1, "message": "Your order has been cancelled and refunded."},
        errors=_errors(
            **_NOT_FOUND,
            EARLY_CANCEL_DENIED="An activation cannot be cancelled in its first minutes.",
        ),
    ),
    Endpoint("request/active", active, "Open orders", example=[_LISTED_EXAMPLE], errors=_errors()),
    Endpoint(
        "request/history",
        history,
        "All orders, newest first",
        ("start", "length"),
        example=[_LISTED_EXAMPLE],
        errors=_errors(BAD_DATA="length must be a whole number from 1 to 100."),
    ),
    Endpoint(
        "rental/retrieve_all",
        rentals_offered,
        "Rentals offered",
        ("type",),
        guest=True,
        example={
            "1": {
                "ID": 1,
                "name": "USA",
                "region": "",
                "pricing": '{"1":3.0,"7":18.0,"14":25.0,"30":30.0}',
            }
        },
        errors={},
    ),
    Endpoint(
        "purchase/rental",
        purchase_rental,
        "Rent a number",
        ("rental_id", "days", "service_id"),
        example=_RENTAL_EXAMPLE,
        errors=_errors(
            NO_BALANCE="The balance is too low for this.", BAD_COUNTRY="This rental does not exist."
        ),
    ),
    Endpoint(
        "rental/retrieve_status",
        rental_status,
        "Status of a rental",
        ("rental_code",),
        example={
            "success": 1,
            "status": {
                "expiry": 1765450257,
                "available": 1,
                "phonenumber": "12025550143",
                "activeFor": 2,
                "state": "active",
            },
        },
        errors=_errors(**_RENTAL_NOT_FOUND),
    ),
    Endpoint(
        "rental/retrieve_messages",
        rental_messages,
        "SMS of a rental",
        ("rental_code",),
        example={
            "success": 1,
            "source": "R2612041030AB12",
            "messages": {
                "0": {
                    "ID": 6,
                    "sender": "Bank",
                    "message": "Code 5555",
                    "code": "5555",
                    "timestamp": "04 Dec 2026 10:39:54",
                }
            },
        },
        errors=_errors(**_RENTAL_NOT_FOUND),
    ),
    Endpoint(
        "rental/extend",
        extend,
        "Extend a rental",
        ("rental_code", "days"),
        example={**_RENTAL_EXAMPLE, "message": "Your rental has been successfully extended!"},
        errors=_errors(**_RENTAL_NOT_FOUND, NO_BALANCE="The balance is too low for this."),
    ),
    Endpoint(
        "rental/refund",
        refund,
        "Cancel and refund a rental",
        ("rental_code",),
        example={"success": 1, "message": "Your rental has been refunded!"},
        errors=_errors(
            **_RENTAL_NOT_FOUND,
            CANT_CANCEL="A rental can be cancelled only in its first minutes and before any SMS.",
        ),
    ),
]


def urlpatterns() -> list:
    """Each endpoint at ``/smspool/<path>``, ``<path>/`` and ``<path>.php`` (one documented)."""
    patterns = []
    for endpoint in ENDPOINTS:
        schema = endpoint_schema(endpoint, tag="SMSPool", error_media="application/json")
        documented = endpoint_view(DIALECT, endpoint.run, schema=schema, guest=endpoint.guest)
        twin = endpoint_view(DIALECT, endpoint.run, schema=None, guest=endpoint.guest)
        patterns += [
            path(f"smspool/{endpoint.path}", documented.as_view()),
            re_path(rf"^smspool/{endpoint.path}(?:\.php|/)$", twin.as_view()),
        ]
    return patterns

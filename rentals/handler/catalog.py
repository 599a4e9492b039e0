"""Catalog and balance actions of the handler protocol: thin, each a selector call and a
rendering."""

from collections import defaultdict

from django.conf import settings

from providers.models import Country, Operator, Service
from providers.selectors import WINDOWS, provider_health, quote_list
from providers.snapshot import country_by_sms_activate_id, service_by_code
from rentals.handler.transport import Call, HandlerError, json_response, number, text
from smsbox import parsing
from smsbox.money import ZERO, format_money
from wallets.selectors import wallet_for_user


def get_balance(call: Call):
    wallet = wallet_for_user(user=call.user)
    return text(f"ACCESS_BALANCE:{format_money(wallet.balance if wallet else ZERO)}")


def country_param(
    call: Call, *, default: int | None = 0, error: str = "BAD_COUNTRY"
) -> Country | None:
    """The ``country`` parameter (an SMS-Activate id) as a Country; None when absent and
    ``default`` is None."""
    raw = call.get("country")
    if raw == "" and default is None:
        return None
    if raw == "":
        raw = str(default)
    country_id = parsing.or_none(parsing.integer, raw, name="country", maximum=999_999_999)
    if country_id is None:
        raise HandlerError(error)
    country = country_by_sms_activate_id(country_id)
    if country is None:
        raise HandlerError(error)
    return country


def service_param(
    call: Call, *, required: bool = True, error: str = "BAD_SERVICE"
) -> Service | None:
    raw = call.get("service")
    if not raw:
        if required:
            raise HandlerError(error)
        return None
    service = service_by_code(raw[:16])
    if service is None:
        raise HandlerError(error)
    return service


def operator_param(call: Call) -> str:
    raw = call.get("operator").lower()
    return "" if raw in ("", "any") else raw.split(",")[0].strip()


def get_numbers_status(call: Call):
    country = country_param(call)
    stock = {
        q.service_id: q.stock for q in quote_list(country=country, operator=operator_param(call))
    }
    services = Service.objects.filter(visible=True).order_by("code").values_list("pk", "code")
    return json_response({f"{code}_0": str(stock.get(pk, 0)) for pk, code in services})


def get_top_countries_by_service(call: Call):
    service = service_param(call, required=False)
    quotes = quote_list(service=service) if service else quote_list()
    by_country: dict[int, list] = defaultdict(lambda: [None, 0])
    for quote in quotes:
        entry = by_country[quote.country_id]
        entry[0] = quote.retail_price if entry[0] is None else min(entry[0], quote.retail_price)
        entry[1] += quote.stock
    ids = dict(Country.objects.filter(pk__in=by_country).values_list("pk", "sms_activate_id"))
    ranked = sorted(by_country.items(), key=lambda item: (-item[1][1], item[1][0]))
    body: dict = {}
    for index, (country_pk, (price, count)) in enumerate(ranked):
        body[str(index)] = {
            "country": ids[country_pk],
            "count": count,
            "price": number(price),
            "retail_price": number(price),
        }
    if call.flag("freePrice"):
        body["freePriceMap"] = _free_price_map(quotes)
    return json_response(body)


def _free_price_map(quotes) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for quote in quotes:
        counts[format_money(quote.retail_price)] += quote.stock
    return dict(sorted(counts.items(), key=lambda item: float(item[0])))


def get_list_of_top_countries_by_service(call: Call):
    service = service_param(call, error="WRONG_SERVICE")
    quotes = quote_list(service=service)
    total = sum(q.stock for q in quotes) or 1
    health = provider_health(window=WINDOWS["7d"], by_route=True, service=service)
    sold: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for row in health:
        sold[row.country_id][0] += row.sold
        sold[row.country_id][1] += row.with_sms
    ids = dict(
        Country.objects.filter(pk__in=[q.country_id for q in quotes]).values_list(
            "pk", "sms_activate_id"
        )
    )
    return json_response(
        [
            {
                "country": ids[q.country_id],
                "share": round(100 * q.stock / total),
                "rate": round(100 * sold[q.country_id][1] / sold[q.country_id][0])
                if sold[q.country_id][0]
                else 0,
            }
            for q in sorted(quotes, key=lambda q: -q.stock)
        ]
    )


def get_operators(call: Call):
    country = country_param(call, default=None, error="OPERATORS_NOT_FOUND")
    operators = Operator.objects.select_related("country").order_by(
        "country__sms_activate_id", "code"
    )
    if country is not None:
        operators = operators.filter(country=country)
    grouped: dict[str, list[str]] = defaultdict(list)
    for operator in operators:
        grouped[str(operator.country.sms_activate_id)].append(operator.code)
    if not grouped:
        raise HandlerError("OPERATORS_NOT_FOUND")
    return json_response({"status": "success", "countryOperators": grouped})


def _prices(call: Call, *, service_first: bool) -> dict:
    service = service_param(call, required=False)
    country = country_param(call, default=None)
    codes = dict(Service.objects.values_list("pk", "code"))
    ids = dict(Country.objects.values_list("pk", "sms_activate_id"))
    body: dict = defaultdict(dict)
    for quote in quote_list(service=service, country=country):
        outer, inner = str(ids[quote.country_id]), codes[quote.service_id]
        if service_first:
            outer, inner = inner, outer
        body[outer][inner] = {"cost": number(quote.retail_price), "count": quote.stock}
    return body


def get_prices(call: Call):
    return json_response(_prices(call, service_first=False))


def get_prices_verification(call: Call):
    return json_response(_prices(call, service_first=True))


def get_countries(call: Call):
    return json_response(
        {
            str(c.sms_activate_id): {
                "id": c.sms_activate_id,
                "rus": c.name_ru,
                "eng": c.name_en,
                "chn": c.name_zh,
                "visible": int(c.visible),
                "retry": int(c.retry),
                "rent": int(c.rent),
                "multiService": int(c.multi_service),
            }
            for c in Country.objects.order_by("sms_activate_id")
        }
    )


def get_services_list(call: Call):
    services = Service.objects.filter(visible=True).order_by("name", "code")
    return json_response(
        {"status": "success", "services": [{"code": s.code, "name": s.name} for s in services]}
    )


def currency() -> int:
    return settings.SMSBOX_CURRENCY_NUMERIC

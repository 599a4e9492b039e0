"""Rent actions of the handler protocol (long-term numbers): thin, each parses, calls one
service or selector of rentals and renders the protocol's JSON."""

from django.conf import settings

from rentals import rental_selectors
from rentals.handler.catalog import country_param, operator_param, service_param
from rentals.handler.transport import Call, HandlerError, json_response, number, protocol_datetime
from rentals.models import Rental
from rentals.rental_errors import MaxHoursExceed, RentalNotFound
from rentals.services import rental_reorder
from rentals.services import rentals as rental_services
from smsbox import parsing

State = Rental.State
_FINAL_TOKENS = {
    State.FINISHED: "STATUS_FINISH",
    State.EXPIRED: "STATUS_FINISH",
    State.CANCELLED: "STATUS_CANCEL",
    State.FAILED: "STATUS_CANCEL",
    State.REVOKED: "STATUS_REVOKE",
}


def _hours(call: Call, name: str, default: int | None = None):
    raw = call.get(name)
    if not raw and default is not None:
        return default
    hours = parsing.or_none(parsing.integer, raw, name=name, maximum=999_999)
    if hours is None:
        raise HandlerError("INVALID_TIME")
    return hours


def _rental(call: Call) -> Rental:
    rent_id = call.get("id")
    if not rent_id:
        raise HandlerError("NO_ID_RENT")
    if not parsing.is_digits(rent_id):
        raise HandlerError("INVALID_PHONE")
    try:
        return rental_selectors.rental_get_for_user(user=call.user, ident=rent_id)
    except RentalNotFound as exc:
        raise HandlerError("INVALID_PHONE") from exc


def _phone(rental: Rental) -> dict:
    return {
        "id": rental.pk,
        "endDate": rental.expires_at.strftime("%Y-%m-%dT%H:%M:%S"),
        "number": rental.phone,
    }


def _max_hours(exc: MaxHoursExceed) -> HandlerError:
    info = exc.extra.get("info") or {"max": exc.extra.get("max")}
    return HandlerError(
        "MAX_HOURS_EXCEED",
        body={"status": "error", "message": "MAX_HOURS_EXCEED", "info": info},
    )


def get_rent_services_and_countries(call: Call):
    country = country_param(call)
    try:
        lines = rental_selectors.rental_price_list(country=country, hours=_hours(call, "time", 4))
    except MaxHoursExceed as exc:
        raise _max_hours(exc) from exc
    if not lines:
        raise HandlerError("OUT_OF_STOCK")
    services = {
        (line.service.code if line.service else "full"): {
            "cost": number(line.price),
            "quant": line.stock,
        }
        for line in lines
    }
    return json_response(
        {
            "countries": {"0": country.sms_activate_id},
            "operators": {"0": operator_param(call) or "any"},
            "services": services,
            "currency": settings.SMSBOX_CURRENCY_NUMERIC,
        }
    )


def get_rent_number(call: Call):
    service = None
    if call.get("service") and call.get("service").lower() != "full":
        service = service_param(call)
    elif not call.get("service"):
        raise HandlerError("BAD_SERVICE")
    try:
        rental = rental_services.rental_purchase(
            user=call.user,
            country=country_param(call),
            service=service,
            hours=_hours(call, "time", 4),
            webhook_url=call.get("url")[:500],
            operator=operator_param(call),
        )
    except MaxHoursExceed as exc:
        raise _max_hours(exc) from exc
    if rental.state != State.ACTIVE or not rental.phone:  # not known yet: told no, abandoned
        rental = rental_services.rental_abandon(rental=rental)
    if rental.state != State.ACTIVE or not rental.phone:
        raise HandlerError("NO_NUMBERS")
    return json_response({"status": "success", "phone": _phone(rental)})


def get_rent_status(call: Call):
    rental = _rental(call)
    if rental.state in _FINAL_TOKENS:
        raise HandlerError(_FINAL_TOKENS[rental.state], failed=False)
    page = rental_selectors.rental_messages_page(
        rental=rental,
        page=call.integer("page", "BAD_DATA", default=0),
        size=call.integer("size", "BAD_DATA", default=10),
    )
    if page.total == 0:
        raise HandlerError("STATUS_WAIT_CODE", failed=False)
    service = rental.service.code if rental.service_id else "full"
    values = {
        str(index): {
            "phoneFrom": message.sender,
            "text": message.text,
            "service": service,
            "date": protocol_datetime(message.received_at),
        }
        for index, message in enumerate(page.messages)
    }
    return json_response({"status": "success", "quantity": str(page.total), "values": values})


def set_rent_status(call: Call):
    status = call.get("status")
    rental = _rental(call)
    if status == "1":
        rental_services.rental_finish(rental=rental)
    elif status == "2":
        rental_services.rental_cancel(rental=rental)
    else:
        raise HandlerError("INCORECT_STATUS")
    return json_response({"status": "success"})


def get_rent_list(call: Call):
    rentals = list(rental_selectors.rentals_for_user(user=call.user, state=State.ACTIVE)[:10])
    if not rentals:
        raise HandlerError("NO_NUMBERS", failed=False)
    values = {str(i): {"id": str(r.pk), "phone": r.phone} for i, r in enumerate(rentals)}
    return json_response({"status": "success", "values": values})


def continue_rent_number(call: Call):
    """Extend a running rent; a rent that is over is re-ordered under a new id (answered with
    that id). A re-order whose upstream answer was lost answers NO_NUMBERS, as getRentNumber
    does: the new rent shows up in getRentList once the expiry job has settled it."""
    rental = _rental(call)
    try:
        rental = rental_reorder.rental_continue(rental=rental, hours=_hours(call, "rent_time", 4))
    except MaxHoursExceed as exc:
        raise _max_hours(exc) from exc
    if rental.state != State.ACTIVE:
        raise HandlerError("NO_NUMBERS")
    fresh = rental_selectors.rental_get_for_user(user=call.user, ident=rental.pk)
    return json_response({"status": "success", "phone": _phone(fresh)})


def get_continue_rent_price_number(call: Call):
    rental = _rental(call)
    try:
        quote = rental_selectors.rental_continue_quote(
            rental=rental, hours=_hours(call, "rent_time", 4)
        )
    except MaxHoursExceed as exc:
        raise _max_hours(exc) from exc
    return json_response(
        {
            "status": "success",
            "price": number(quote.price),
            "currency": settings.SMSBOX_CURRENCY_NUMERIC,
        }
    )

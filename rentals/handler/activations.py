"""Activation actions of the handler protocol: thin, each parses its parameters, calls one
service or selector of rentals and renders the protocol's answer."""

import re
from datetime import datetime
from decimal import Decimal

from django.conf import settings

from providers.models import Service
from providers.snapshot import snapshot_version_key, snapshot_version_seen
from rentals import selectors, services
from rentals.activation_cache import activation_cache_keys
from rentals.errors import NoActivation
from rentals.handler.catalog import country_param, operator_param, service_param
from rentals.handler.transport import (
    Call,
    HandlerError,
    json_response,
    number,
    protocol_datetime,
    text,
)
from rentals.models import Activation
from rentals.services.multi import MULTI_SERVICE_MAX
from rentals.status import handler_status_number
from smsbox import parsing
from smsbox.money import format_money

State = Activation.State
_HISTORY_MAX_OFFSET = 1_000_000
_OTHER_NAME = {"id": "activationId", "activationId": "id"}
_PHONE_PREFIXES = re.compile(r"^[0-9]{1,15}(,[0-9]{1,15})*$")


# --- parameters -------------------------------------------------------------------------------


def _activation(call: Call, name: str = "id", *, error: str = "NO_ACTIVATION") -> Activation:
    """The caller's activation named by the integer parameter ``name``; anyone else's is
    unknown. A missing or malformed id is ``WRONG_ACTIVATION_ID``."""
    raw = call.get(name) or call.get(_OTHER_NAME[name])  # clients differ on the name
    ident = parsing.or_none(parsing.object_id, raw, name=name)
    if ident is None:
        raise HandlerError("WRONG_ACTIVATION_ID" if error == "NO_ACTIVATION" else error)
    try:
        return selectors.activation_get_for_user(user=call.user, ident=ident)
    except NoActivation as exc:
        raise HandlerError(error) from exc


def _max_price(call: Call) -> Decimal | None:
    raw = call.get("maxPrice")
    if not raw:
        return None
    price = parsing.or_none(parsing.amount, raw, name="maxPrice", positive=True)
    if price is None:
        raise HandlerError("WRONG_MAX_PRICE")
    return price


def _purchase_args(call: Call) -> dict:
    if call.cached:
        snapshot_version_seen(call.cached[0])
    exception = call.get("phoneException")
    if exception and not _PHONE_PREFIXES.fullmatch(exception.replace(" ", "")):
        raise HandlerError("WRONG_EXCEPTION_PHONE")
    if call.get("activationType") not in ("", "0"):
        raise HandlerError("NO_NUMBERS")  # numbers by voice call or number-only: not sold
    return {
        "user": call.user,
        "service": service_param(call),
        "country": country_param(call),
        "operator": operator_param(call),
        "max_price": _max_price(call),
        "idempotency_key": call.get("orderId")[:100],
    }


def _bought(activation: Activation) -> Activation:
    """The protocol has no "pending" answer: a purchase whose upstream answer is not known yet
    is told ``NO_NUMBERS`` and abandoned (refunded, never delivered), unless it got its number
    meanwhile."""
    if not activation.phone:
        activation = services.activation_abandon(activation=activation)
    if not activation.phone:
        raise HandlerError("NO_NUMBERS")
    return activation


# --- buying -----------------------------------------------------------------------------------


def get_number_cached(params: dict[str, str]) -> tuple[str, ...]:
    """The catalog's version (``providers.snapshot``), read along with the key check."""
    key = snapshot_version_key()
    return () if key is None else (key,)


def get_number(call: Call):
    activation = _bought(services.activation_purchase(**_purchase_args(call)))
    return text(f"ACCESS_NUMBER:{activation.pk}:{activation.phone}")


def get_number_v2(call: Call):
    activation = _bought(services.activation_purchase(**_purchase_args(call)))
    return json_response(
        {
            "activationId": activation.pk,
            "phoneNumber": activation.phone,
            "activationCost": number(activation.price),
            "currency": settings.SMSBOX_CURRENCY_NUMERIC,
            "countryCode": str(activation.country.sms_activate_id),
            "canGetAnotherSms": bool(activation.country.retry),
            "activationTime": protocol_datetime(activation.number_at or activation.created_at),
            "activationEndTime": protocol_datetime(activation.expires_at),
            "activationOperator": activation.operator or "any",
        }
    )


def _multi_services(call: Call) -> list[Service]:
    """``multiService``: a comma list of 1 to 10 service codes; one named twice counts once."""
    raw = (code.strip().lower() for code in call.get("multiService").split(","))
    codes = list(dict.fromkeys(code for code in raw if code))
    if not codes or len(codes) > MULTI_SERVICE_MAX:
        raise HandlerError("BAD_SERVICE")
    return [service_param(Call(user=call.user, params={"service": code})) for code in codes]


def get_multi_service_number(call: Call):
    """One number for several services, one activation each. ``multiForward`` is ignored, as
    getNumber's ``forward`` is: no forwarding is sold."""
    activations = services.activations_purchase_multi(
        user=call.user,
        services=_multi_services(call),
        country=country_param(call),
        operator=operator_param(call),
        max_price=_max_price(call),
    )
    items = [
        {"phone": a.phone, "activation": str(a.pk), "service": a.service.code}
        for a in activations
        if a.phone  # none while the upstream's answer is not known yet
    ]
    if not items:
        for activation in activations:  # told no: refunded, never delivered
            services.activation_abandon(activation=activation)
        raise HandlerError("NO_NUMBERS")
    return json_response(items)


def get_extra_activation(call: Call):
    parent = _activation(call, "activationId", error="WRONG_ACTIVATION_ID")
    activation = _bought(services.activation_reuse(activation=parent))
    return text(f"ACCESS_NUMBER:{activation.pk}:{activation.phone}")


def check_extra_activation(call: Call):
    parent = _activation(call, "activationId", error="RENEW_ACTIVATION_NOT_AVAILABLE")
    if selectors.ACTION_REUSE not in selectors.activation_available_actions(parent):
        raise HandlerError("RENEW_ACTIVATION_NOT_AVAILABLE")
    return json_response(
        {
            "status": "success",
            "cost": number(parent.price),
            "service": parent.service.code,
            "phone": parent.phone,
            "country": parent.country.sms_activate_id,
        }
    )


def get_additional_service(call: Call):
    _activation(call, error="WRONG_ACTIVATION_ID")
    raise HandlerError("WRONG_ADDITIONAL_SERVICE")  # no forwarding services are sold


# --- one activation ---------------------------------------------------------------------------

_SET_STATUS = {
    "1": ("activation_mark_ready", "ACCESS_READY"),
    "3": ("activation_request_another_code", "ACCESS_RETRY_GET"),
    "6": ("activation_finish", "ACCESS_ACTIVATION"),
    "8": ("activation_cancel", "ACCESS_CANCEL"),
    "-1": ("activation_cancel", "ACCESS_CANCEL"),
}


def set_status(call: Call):
    action = _SET_STATUS.get(call.get("status"))
    activation = _activation(call)
    if action is None:
        raise HandlerError("BAD_STATUS")
    service, answer = action
    getattr(services, service)(activation=activation)
    return text(answer)


def _status_id(params: dict[str, str]) -> int | None:
    raw = params.get("id") or params.get("activationId") or ""
    return parsing.or_none(parsing.object_id, raw, name="id")


def get_status_cached(params: dict[str, str]) -> tuple[str, ...]:
    """The Redis keys of the polled activation's copy (read along with the key check)."""
    activation_id = _status_id(params)
    return () if activation_id is None else activation_cache_keys(activation_id)


def get_status(call: Call):
    """The polling path: the activation's Redis copy (read along with the key check), or its
    row by primary key."""
    activation_id = _status_id(call.params)
    if activation_id is None:
        raise HandlerError("WRONG_ACTIVATION_ID")
    try:
        status = selectors.activation_handler_status_for_user(
            user=call.user, activation_id=activation_id, cached=call.cached or None
        )
    except NoActivation as exc:
        raise HandlerError("NO_ACTIVATION") from exc
    return text(status)


def _latest_message(activation: Activation):
    return activation.messages.order_by("-received_at", "-id").first()


def get_status_v2(call: Call):
    activation = _activation(call)
    if activation.state in Activation.REFUNDED_STATES:
        raise HandlerError("STATUS_CANCEL", bare=True, failed=False)
    message = _latest_message(activation) if activation.has_sms else None
    sms = None
    if message is not None:
        sms = {
            "dateTime": protocol_datetime(message.received_at),
            "code": message.code or activation.code or "",
            "text": message.text,
        }
    return json_response({"verificationType": 0, "sms": sms, "call": None})


def get_full_sms(call: Call):
    activation = _activation(call)
    if activation.state in Activation.REFUNDED_STATES:
        raise HandlerError("STATUS_CANCEL", failed=False)
    message = _latest_message(activation) if activation.has_sms else None
    if message is None:
        raise HandlerError("STATUS_WAIT_CODE", failed=False)
    return text(f"FULL_SMS:{message.text}")


def get_incoming_call_status(call: Call):
    activation = _activation(call, error="INVALID_ACTIVATION_ID")
    if activation.state in Activation.REFUNDED_STATES:
        status = 4
    elif activation.state == State.COMPLETED:
        status = 3
    else:
        status = 2
    return json_response({"status": status, "phone": activation.phone})


# --- lists ------------------------------------------------------------------------------------


def get_active_activations(call: Call):
    active = list(
        selectors.activations_for_user(user=call.user, state=list(Activation.LIVE_STATES))
    )
    if not active:
        raise HandlerError("NO_ACTIVATIONS", failed=False)
    items = [_active_item(a) for a in active]
    return json_response({"status": "success", "activeActivations": items, "data": items})


def _active_item(activation: Activation) -> dict:
    message = None
    if activation.has_sms:
        message = _latest_message(activation)
    return {
        "activationId": str(activation.pk),
        "serviceCode": activation.service.code,
        "phoneNumber": activation.phone,
        "activationCost": format_money(activation.price),
        "activationStatus": handler_status_number(activation),
        "smsCode": activation.code or None,
        "smsText": message.text if message else None,
        "activationTime": protocol_datetime(activation.number_at or activation.created_at),
        "discount": "0.00",
        "repeated": "1" if activation.reuses_id else "0",
        "countryCode": str(activation.country.sms_activate_id),
        "countryName": activation.country.name_en,
        "canGetAnotherSms": "1" if activation.country.retry else "0",
        "currency": str(settings.SMSBOX_CURRENCY_NUMERIC),
    }


def _timestamp(call: Call, name: str) -> datetime | None:
    raw = call.get(name)
    if not raw:
        return None
    try:
        return parsing.unix_timestamp(raw, name=name)
    except parsing.InvalidParameter:
        raise HandlerError("WRONG_DATE") from None


def get_history(call: Call):
    start, end = _timestamp(call, "start"), _timestamp(call, "end")
    offset = call.integer("offset", "BAD_DATA", default=0, maximum=_HISTORY_MAX_OFFSET)
    limit = min(call.integer("limit", "BAD_DATA", default=50, maximum=_HISTORY_MAX_OFFSET), 100)
    history = selectors.activations_for_user(user=call.user, since=start, until=end)
    rows = [
        {
            "id": str(a.pk),
            "date": protocol_datetime(a.created_at),
            "phone": a.phone,
            "sms": _codes_json(a),
            "cost": format_money(a.price),
            "status": handler_status_number(a),
            "currency": str(settings.SMSBOX_CURRENCY_NUMERIC),
        }
        for a in history[offset : offset + limit]
    ]
    return json_response({"status": "success", "data": rows})


def _codes_json(activation: Activation) -> str | None:
    import json

    return json.dumps([activation.code]) if activation.code else None

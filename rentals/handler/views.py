"""``/stubs/handler_api.php``: the SMS-Activate handler protocol on smsbox's services.

A dispatch table maps each action to a thin function (parse, call one service or selector,
render) and to its kind (text or JSON), which decides how its errors look. Errors become tokens
in ``rentals.handler.tokens`` only. Every answer is HTTP 200.
"""

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from apikeys.authentication import api_key_check_admit
from apikeys.throttling import failed_request_record
from rentals.handler import activations, catalog, rent
from rentals.handler.tokens import FALLBACK, token_for
from rentals.handler.transport import (
    JSON,
    TEXT,
    Call,
    HandlerError,
    ban_datetime,
    error_response,
    request_params,
)
from smsbox.errors import ApplicationError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Action:
    run: Callable[[Call], HttpResponse]
    kind: str = TEXT
    overrides: dict[str, str] = field(default_factory=dict)
    # Redis keys the action reads, fetched in the key check's round trip (``Call.cached``).
    cached: Callable[[dict[str, str]], Sequence[str]] | None = None


# The protocol has no token for an indefinite block: a ban without end says it to its clients.
BLOCKED_UNTIL = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
_RENT_TOKENS = {"NOT_FOUND": "INVALID_PHONE", "NO_ACTIVATION": "INVALID_PHONE"}

ACTIONS: dict[str, Action] = {
    # balance and catalog
    "getBalance": Action(catalog.get_balance),
    "getBalanceAndCashBack": Action(catalog.get_balance),
    "getNumbersStatus": Action(catalog.get_numbers_status, JSON),
    "getTopCountriesByService": Action(catalog.get_top_countries_by_service, JSON),
    "getListOfTopCountriesByService": Action(
        catalog.get_list_of_top_countries_by_service, JSON, {"BAD_SERVICE": "WRONG_SERVICE"}
    ),
    "getOperators": Action(catalog.get_operators, JSON, {"BAD_COUNTRY": "OPERATORS_NOT_FOUND"}),
    "getPrices": Action(catalog.get_prices, JSON),
    "getPricesVerification": Action(catalog.get_prices_verification, JSON),
    "getCountries": Action(catalog.get_countries, JSON),
    "getServicesList": Action(catalog.get_services_list, JSON),
    # activations
    "getNumber": Action(activations.get_number, cached=activations.get_number_cached),
    "getNumberV2": Action(activations.get_number_v2, JSON, cached=activations.get_number_cached),
    "getMultiServiceNumber": Action(activations.get_multi_service_number, JSON),
    "setStatus": Action(activations.set_status),
    "getStatus": Action(activations.get_status, cached=activations.get_status_cached),
    "getStatusV2": Action(activations.get_status_v2, JSON),
    "getFullSms": Action(activations.get_full_sms),
    "getActiveActivations": Action(activations.get_active_activations, JSON),
    "getHistory": Action(activations.get_history, JSON),
    "getExtraActivation": Action(
        activations.get_extra_activation,
        TEXT,
        {"NO_ACTIVATION": "WRONG_ACTIVATION_ID", "BAD_STATUS": "RENEW_ACTIVATION_NOT_AVAILABLE"},
    ),
    "checkExtraActivation": Action(
        activations.check_extra_activation,
        JSON,
        {
            "NO_ACTIVATION": "RENEW_ACTIVATION_NOT_AVAILABLE",
            "BAD_STATUS": "RENEW_ACTIVATION_NOT_AVAILABLE",
        },
    ),
    "getAdditionalService": Action(activations.get_additional_service),
    "getIncomingCallStatus": Action(
        activations.get_incoming_call_status, JSON, {"NO_ACTIVATION": "INVALID_ACTIVATION_ID"}
    ),
    # long-term rentals
    "getRentServicesAndCountries": Action(rent.get_rent_services_and_countries, JSON),
    "getRentNumber": Action(rent.get_rent_number, JSON),
    "getRentStatus": Action(rent.get_rent_status, JSON, _RENT_TOKENS),
    "setRentStatus": Action(rent.set_rent_status, JSON, _RENT_TOKENS),
    "getRentList": Action(rent.get_rent_list, JSON),
    "continueRentNumber": Action(rent.continue_rent_number, JSON, _RENT_TOKENS),
    "getContinueRentPriceNumber": Action(rent.get_continue_rent_price_number, JSON, _RENT_TOKENS),
}


@csrf_exempt
def handler_api(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "POST"):
        return error_response("BAD_ACTION", TEXT)
    params = request_params(request)
    name = params.get("action", "")
    if name == "getRentStatus" and params.get("status"):
        name = "setRentStatus"  # one client sends getRentStatus&status=N for setRentStatus
    action = ACTIONS.get(name)
    kind = action.kind if action else TEXT
    try:
        return _dispatch(params, name, action, kind)
    except Exception:  # the key check lost its database, say: the protocol has no 500 either
        logger.exception("handler request %s failed", name)
        return error_response(FALLBACK, kind)


def handler_failure(request: HttpRequest, unavailable: bool) -> HttpResponse:
    """What a handler request that failed before its view answers (``smsbox.failures``)."""
    return error_response(FALLBACK, TEXT)


def _dispatch(params: dict[str, str], name: str, action: Action | None, kind: str) -> HttpResponse:
    # The key check, the account's rate limit and the action's cached data: one Redis round
    # trip on the polling path.
    if not params.get("api_key"):
        return error_response("BAD_KEY", kind)
    also = action.cached(params) if action is not None and action.cached is not None else ()
    api_key, refusal, cached = api_key_check_admit(params["api_key"], also=also)
    if api_key is None:
        return error_response("BAD_KEY", kind)
    user = api_key.user
    if user.blocked_at is not None:  # blocked by an operator: banned until further notice
        return error_response(f"BANNED:{ban_datetime(BLOCKED_UNTIL)}", kind)
    if user.is_banned():
        return error_response(f"BANNED:{ban_datetime(user.banned_until)}", kind)
    if refusal is not None:
        until = datetime.fromtimestamp(int(timezone.now().timestamp()) + refusal.retry_after, UTC)
        return error_response(f"BANNED:{ban_datetime(until)}", kind)
    if action is None:
        failed_request_record(user=user)
        return error_response("BAD_ACTION", TEXT)
    try:
        return action.run(Call(user=user, params=params, cached=cached))
    except HandlerError as exc:
        if exc.failed:
            failed_request_record(user=user)
        return error_response(exc.token, TEXT if exc.bare else kind, exc.body)
    except ApplicationError as exc:
        failed_request_record(user=user)
        return error_response(token_for(exc, action.overrides), kind)
    except Exception:  # the protocol has no 500: log it and answer its generic error
        logger.exception("handler action %s failed", name)
        return error_response(FALLBACK, kind)

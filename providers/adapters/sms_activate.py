"""The SMS-Activate handler protocol as a client (``handler_api.php``), activations and rent.

Spoken by SMS-Activate, HeroSMS, SMSPool's stub, SMSHub, SMSBower, Grizzly and smsbox itself.
``base_url`` is the full handler URL; ``extra_params`` go with every call. Settings:
``buy_action`` (``getNumberV2`` by default, which reports the cost; ``getNumber`` for servers
without V2).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import ROUND_UP, Decimal
from typing import Any

from providers.adapters import http
from providers.adapters.base import (
    ActiveActivation,
    ActiveRent,
    Adapter,
    BadCredentials,
    BoughtMultiNumber,
    BoughtNumber,
    BoughtServiceOrder,
    NoNumbers,
    OfferQuote,
    RentedNumber,
    Transient,
    Unsupported,
    UpstreamError,
    UpstreamMessage,
    UpstreamNoBalance,
    UpstreamRejected,
    UpstreamStatus,
    digits,
    multi_bought,
    parse_decimal,
)

_TOKEN_ERRORS: dict[str, type[UpstreamError]] = {
    "BAD_KEY": BadCredentials,
    "BANNED": BadCredentials,
    "CHANNELS_LIMIT": BadCredentials,
    "ACCOUNT_INACTIVE": BadCredentials,
    "NO_BALANCE": UpstreamNoBalance,
    "NO_BALANCE_FORWARD": UpstreamNoBalance,
    "NO_NUMBERS": NoNumbers,
    "OUT_OF_STOCK": NoNumbers,
    "WRONG_MAX_PRICE": NoNumbers,
    "BAD_SERVICE": NoNumbers,
    "WRONG_SERVICE": NoNumbers,
    "BAD_COUNTRY": NoNumbers,
    "ERROR_SQL": Transient,
    "SERVER_ERROR": Transient,
}
_REJECTIONS = {
    "BAD_ACTION",
    "BAD_STATUS",
    "EARLY_CANCEL_DENIED",
    "NO_ACTIVATION",
    "WRONG_ACTIVATION_ID",
    "WRONG_EXCEPTION_PHONE",
    "ORDER_ALREADY_EXISTS",
    "NO_ID_RENT",
    "INVALID_PHONE",
    "INCORECT_STATUS",
    "CANT_CANCEL",
    "ALREADY_FINISH",
    "ALREADY_CANCEL",
    "INVALID_TIME",
    "MAX_HOURS_EXCEED",
    "RENT_DIE",
    "STATUS_FINISH",
    "STATUS_CANCEL",
    "STATUS_REVOKE",
    "STATUS_WAIT_CODE",
    "NO_ACTIVATIONS",
    "RENEW_ACTIVATION_NOT_AVAILABLE",
    "NEW_ACTIVATION_IMPOSSIBLE",
    "SIM_OFFLINE",
}


def token_error(token: str) -> UpstreamError | None:
    """The typed error for an error token (``NO_NUMBERS``, ``BANNED:2024-1-1 10-00-00``)."""
    name = token.split(":", 1)[0].strip()
    if name in _TOKEN_ERRORS:
        return _TOKEN_ERRORS[name](f"The upstream answered {token[:80]}.", extra={"token": name})
    if name in _REJECTIONS:
        return UpstreamRejected(f"The upstream answered {token[:80]}.", extra={"token": name})
    return None


class SmsActivateAdapter(Adapter):
    protocol = "sms_activate"
    rents_again = True

    # --- transport -----------------------------------------------------------------------
    def _call(self, action: str, *, ambiguous: bool = False, **params: Any) -> str:
        query = {**self.provider.extra_params, **{k: v for k, v in params.items() if v != ""}}
        query.update(action=action, api_key=self.provider.api_key)
        response = http.request(
            "GET", self.provider.base_url, params=query, timeout=self.timeout, ambiguous=ambiguous
        )
        return response.text.strip()

    def _text(
        self, action: str, prefixes: tuple[str, ...], *, ambiguous: bool = False, **params: Any
    ) -> str:
        body = self._call(action, ambiguous=ambiguous, **params)
        if body.startswith(prefixes):
            return body
        raise token_error(body) or http.malformed(ambiguous, body)

    def _json(self, action: str, *, ambiguous: bool = False, **params: Any) -> Any:
        body = self._call(action, ambiguous=ambiguous, **params)
        try:
            data = json.loads(body)
        except ValueError:
            raise token_error(body) or http.malformed(ambiguous, body) from None
        if isinstance(data, dict) and data.get("status") == "error":
            message = str(data.get("message", ""))
            raise token_error(message) or http.malformed(ambiguous, body)
        return data

    # --- activations ---------------------------------------------------------------------
    def fetch_offers(self) -> list[OfferQuote]:
        data = self._json("getPrices")
        if not isinstance(data, dict):
            raise http.malformed(False, str(data))
        quotes = []
        for upstream_country, services in data.items():
            country_id = self.our_country_id(str(upstream_country))
            if country_id is None or not isinstance(services, dict):
                continue
            for upstream_service, figures in services.items():
                try:
                    cost = parse_decimal(figures["cost"], what="cost")
                    stock = int(figures.get("count", 0))
                except (KeyError, TypeError, ValueError, AttributeError, OverflowError):
                    continue
                quotes.append(
                    OfferQuote(
                        service_code=self.our_service_code(str(upstream_service)),
                        country_id=country_id,
                        cost=cost,
                        stock=max(stock, 0),
                    )
                )
        return quotes

    def buy(self, *, service, country, operator="", max_cost=None) -> BoughtNumber:
        action = self.provider.settings.get("buy_action", "getNumberV2")
        params = {
            "service": self.service_code(service),
            "country": self.country_code(country),
            "operator": operator,
            "maxPrice": _max_price(max_cost),
        }
        if action == "getNumber":
            return self._buy_classic(params)
        try:
            data = self._json(action, ambiguous=True, **params)
        except UpstreamRejected as exc:
            if exc.extra.get("token") != "BAD_ACTION":
                raise
            # A server without getNumberV2 bought nothing: ask the classic way.
            return self._buy_classic(params)
        try:
            cost = data.get("activationCost")
            return BoughtNumber(
                upstream_id=str(int(data["activationId"])),
                phone=_phone(data["phoneNumber"]),
                cost=None if cost is None else parse_decimal(cost, what="activationCost"),
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            raise http.malformed(True, json.dumps(data)[:200]) from None

    def _buy_classic(self, params: dict[str, Any]) -> BoughtNumber:
        body = self._text("getNumber", ("ACCESS_NUMBER:",), ambiguous=True, **params)
        parts = body.split(":")
        if len(parts) != 3 or not parts[1].strip() or not digits(parts[2]):
            raise http.malformed(True, body)
        return BoughtNumber(upstream_id=parts[1].strip(), phone=digits(parts[2]))

    def status(self, *, upstream_id: str) -> UpstreamStatus:
        body = self._text("getStatus", ("STATUS_",), id=upstream_id)
        state, _, code = body.partition(":")
        if state == "STATUS_OK":
            return UpstreamStatus(
                state=UpstreamStatus.RECEIVED,
                code=code,
                messages=[UpstreamMessage(text=code, code=code)],
            )
        if state in ("STATUS_WAIT_CODE", "STATUS_WAIT_RESEND", "STATUS_WAIT_RETRY"):
            return UpstreamStatus(state=UpstreamStatus.WAITING, code=code)
        if state == "STATUS_CANCEL":
            return UpstreamStatus(state=UpstreamStatus.CANCELLED)
        raise http.malformed(False, body)

    def request_another_sms(self, *, upstream_id: str) -> None:
        self._text("setStatus", ("ACCESS_RETRY_GET",), id=upstream_id, status=3)

    def cancel(self, *, upstream_id: str) -> None:
        self._text("setStatus", ("ACCESS_CANCEL",), id=upstream_id, status=8)

    def finish(self, *, upstream_id: str) -> None:
        self._text("setStatus", ("ACCESS_ACTIVATION",), id=upstream_id, status=6)

    def active_activations(self) -> list[ActiveActivation]:
        try:
            data = self._json("getActiveActivations")
        except UpstreamRejected as exc:
            if exc.extra.get("token") == "NO_ACTIVATIONS":
                return []
            raise
        items = data.get("activeActivations", data.get("data")) if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise http.malformed(False, str(data)[:200])
        try:
            return [
                ActiveActivation(
                    upstream_id=str(int(item["activationId"])),
                    phone=_phone(item["phoneNumber"]),
                    service_code=self.our_service_code(str(item.get("serviceCode") or "")),
                    country_id=self.our_country_id(str(item.get("countryCode") or "")),
                    started_at=_datetime(item.get("activationTime")),
                    cost=_cost(item.get("activationCost")),
                )
                for item in items
            ]
        except (KeyError, TypeError, ValueError):
            raise http.malformed(False, str(items)[:200]) from None

    def reuse(self, *, upstream_id: str, country=None) -> BoughtNumber:
        """``getExtraActivation``: the same number again, under a new activation id."""
        body = self._text(
            "getExtraActivation", ("ACCESS_NUMBER:",), ambiguous=True, activationId=upstream_id
        )
        parts = body.split(":")
        if len(parts) != 3 or not parts[1].strip() or not digits(parts[2]):
            raise http.malformed(True, body)
        return BoughtNumber(upstream_id=parts[1].strip(), phone=digits(parts[2]))

    # --- one number for several services ------------------------------------------------
    multi_service = True

    def buy_multi(self, *, services, country, operator="", max_costs=None) -> BoughtMultiNumber:
        """``getMultiServiceNumber``: one number, one activation per service. The protocol
        takes no max price and reports no cost (the offers' costs apply). A server without the
        action (``BAD_ACTION``) bought nothing: ``Unsupported``."""
        try:
            data = self._json(
                "getMultiServiceNumber",
                ambiguous=True,
                multiService=",".join(self.service_code(s) for s in services),
                country=self.country_code(country),
                operator=operator,
            )
        except UpstreamRejected as exc:
            if exc.extra.get("token") != "BAD_ACTION":
                raise
            raise Unsupported(exc.message, extra=exc.extra) from exc
        try:
            return self._multi_bought(data, asked=[s.code for s in services])
        except (KeyError, TypeError, ValueError, AttributeError):
            raise http.malformed(True, json.dumps(data)[:200]) from None

    def _multi_bought(self, data: Any, *, asked: list[str]) -> BoughtMultiNumber:
        """``[{"phone":"7999…","activation":"123","service":"vk"},…]``: one phone for all."""
        if not isinstance(data, list) or not data:
            raise ValueError("not a list of activations")
        phones = {_phone(item["phone"]) for item in data}
        if len(phones) != 1:
            raise ValueError("the activations are not on one number")
        orders = [
            BoughtServiceOrder(
                service_code=self.our_service_code(str(item["service"])),
                upstream_id=str(int(item["activation"])),
            )
            for item in data
        ]
        return multi_bought(phones.pop(), orders, asked=asked)

    # --- long-term rentals ---------------------------------------------------------------
    def rent(self, *, service, country, hours, operator="") -> RentedNumber:
        data = self._json(
            "getRentNumber",
            ambiguous=True,
            service=self.service_code(service) if service else "full",
            country=self.country_code(country),
            time=hours,
            operator=operator,
        )
        return _rented(data, ambiguous=True)

    def rent_messages(self, *, upstream_id: str) -> list[UpstreamMessage]:
        try:
            data = self._json("getRentStatus", id=upstream_id, page=0, size=100)
        except UpstreamRejected as exc:
            if exc.extra.get("token") == "STATUS_WAIT_CODE":
                return []
            raise
        values = data.get("values") if isinstance(data, dict) else None
        if isinstance(values, dict):
            values = list(values.values())
        if not isinstance(values, list):
            raise http.malformed(False, str(data)[:200])
        messages = []
        for item in values:
            try:
                messages.append(
                    UpstreamMessage(
                        text=str(item["text"]),
                        sender=str(item.get("phoneFrom") or ""),
                        received_at=_datetime(item.get("date")),
                    )
                )
            except (KeyError, TypeError, ValueError):
                raise http.malformed(False, str(item)[:200]) from None
        return messages

    def rent_extend(self, *, upstream_id: str, hours: int) -> RentedNumber:
        data = self._json("continueRentNumber", ambiguous=True, id=upstream_id, rent_time=hours)
        return _rented(data, ambiguous=True)

    def rent_again(self, *, upstream_id: str, hours: int) -> RentedNumber:
        """``continueRentNumber`` on the id of a rent that is over: the protocol orders its
        number again under a new id (``RENT_DIE`` and the like when it cannot). The id of a
        rent still running upstream would be extended instead, so release it first: the call
        is the extension's."""
        return self.rent_extend(upstream_id=upstream_id, hours=hours)

    def rent_finish(self, *, upstream_id: str) -> None:
        self._set_rent_status(upstream_id, status=1, done="ALREADY_FINISH")

    def rent_cancel(self, *, upstream_id: str) -> None:
        self._set_rent_status(upstream_id, status=2, done="ALREADY_CANCEL")

    def active_rents(self) -> list[ActiveRent]:
        """``getRentList``: the id and number of each rent (``NO_NUMBERS``: none)."""
        try:
            data = self._json("getRentList")
        except NoNumbers:
            return []
        values = data.get("values") if isinstance(data, dict) else None
        if isinstance(values, dict):
            values = list(values.values())
        if not isinstance(values, list):
            raise http.malformed(False, str(data)[:200])
        try:
            return [
                ActiveRent(upstream_id=str(int(item["id"])), phone=_phone(item["phone"]))
                for item in values
            ]
        except (KeyError, TypeError, ValueError):
            raise http.malformed(False, str(values)[:200]) from None

    def _set_rent_status(self, upstream_id: str, *, status: int, done: str) -> None:
        try:
            data = self._json("setRentStatus", id=upstream_id, status=status)
        except UpstreamRejected as exc:
            if exc.extra.get("token") == done:
                return
            raise
        if not (isinstance(data, dict) and data.get("status") == "success"):
            raise http.malformed(False, str(data)[:200])

    # --- account -------------------------------------------------------------------------
    def balance(self) -> Decimal:
        body = self._text("getBalance", ("ACCESS_BALANCE:",))
        try:
            return parse_decimal(body.split(":", 1)[1], what="balance")
        except ValueError:
            raise http.malformed(False, body) from None


def _max_price(max_cost: Decimal | None) -> str:
    """The protocol takes cents: round up, so an offer costing 0.1234 is still within 0.13."""
    if max_cost is None:
        return ""
    return f"{max_cost.quantize(Decimal('0.01'), rounding=ROUND_UP):.2f}"


def _phone(raw: object) -> str:
    phone = digits(raw)
    if not phone:
        raise ValueError("no phone number")
    return phone


def _cost(raw: object) -> Decimal | None:
    """An optional cost of a listing: absent or unreadable is unknown, not an error."""
    try:
        return None if raw in (None, "") else parse_decimal(raw, what="cost")
    except ValueError:
        return None


def _datetime(raw: object) -> datetime | None:
    """``2020-01-31T12:01:52`` or ``2020-01-30 14:31:58``; the protocol's times are UTC."""
    if not raw:
        return None
    value = datetime.fromisoformat(str(raw).replace(" ", "T"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _rented(data: Any, *, ambiguous: bool) -> RentedNumber:
    try:
        phone = data["phone"]
        return RentedNumber(
            upstream_id=str(int(phone["id"])),
            phone=_phone(phone["number"]),
            ends_at=_datetime(phone.get("endDate")),
        )
    except (KeyError, TypeError, ValueError):
        raise http.malformed(ambiguous, str(data)[:200]) from None

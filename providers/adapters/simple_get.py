"""The simple GET text protocol of seed 004 as a client, with its long-term rental endpoints.

Short-term: ``/api/makeorder``, ``/api/getsms``, ``/api/cancelorder``, ``/api/skipnumber``,
``/api/getbalance`` answer plain-text tokens (``ORDER_ID_{id}_NUMBER_{phone}``, ``WAITING``,
``SUCCESS_{sms}``…). Long-term: ``/api/rental/new|extend|edit|view`` take a JSON POST and
answer JSON. The protocol has no price list, so the offers come from the provider's settings:
``offers`` = ``[{"service": "tg", "country": "UK", "cost": "0.50", "stock": 10}]`` (our service
code, the provider's country code); ``service_codes`` maps our codes to its ``serviceId``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from providers.adapters import http
from providers.adapters.base import (
    Adapter,
    BadCredentials,
    BoughtNumber,
    NoNumbers,
    OfferQuote,
    RentedNumber,
    Unsupported,
    UpstreamError,
    UpstreamMessage,
    UpstreamNoBalance,
    UpstreamRejected,
    UpstreamStatus,
    digits,
    extract_code,
    parse_decimal,
)
from smsbox import parsing

_COUNTRIES = {"US": "USA", "GB": "UK"}
_CALLING_CODES = {"USA": "1", "NL": "31", "UK": "44"}
_PACKAGES = ((24 * 31, "1m"), (24 * 92, "3m"), (24 * 183, "6m"))
_ALREADY_OPEN = "ORDER_ALREADY_OPEN_"  # + the open order's id


def token_error(token: str) -> UpstreamError:
    name = token.strip()
    upper = name.upper()
    if upper in ("NO_PHONE_AVAILABLE", "NO_STOCK"):
        return NoNumbers(f"The upstream answered {name[:80]}.", extra={"token": upper})
    if upper == "NO_BALANCE":
        return UpstreamNoBalance("The upstream answered NO_BALANCE.", extra={"token": upper})
    if upper.startswith(_ALREADY_OPEN):
        # One open order at a time: this provider cannot sell to us until that one is closed.
        # Not a fault of the provider (the circuit breaker does not count it, the offer keeps
        # its stock): the router tries the next offer. The open order's id is kept for support.
        return UpstreamRejected(
            f"The upstream answered {name[:80]}.",
            extra={
                "token": "ORDER_ALREADY_OPEN",
                "open_order": upper.removeprefix(_ALREADY_OPEN)[:40],
            },
        )
    if "KEY" in upper and " " not in upper:
        return BadCredentials(f"The upstream answered {name[:80]}.", extra={"token": upper})
    return UpstreamRejected(f"The upstream answered {name[:80]}.", extra={"token": upper[:40]})


def _is_token(body: str) -> bool:
    return bool(body) and body.replace("_", "").isalnum() and body.upper() == body


class SimpleGetAdapter(Adapter):
    protocol = "simple_get"

    def default_country_code(self, country) -> str:
        return _COUNTRIES.get(country.iso.upper(), country.iso.upper())

    # --- transport -----------------------------------------------------------------------
    def _url(self, path: str) -> str:
        return self.provider.base_url.rstrip("/") + path

    def _get(self, path: str, *, ambiguous: bool = False, **params: Any) -> str:
        query = {**self.provider.extra_params, **params, "key": self.provider.api_key}
        response = http.request(
            "GET", self._url(path), params=query, timeout=self.timeout, ambiguous=ambiguous
        )
        return response.text.strip()

    def _post(self, path: str, *, ambiguous: bool = False, **payload: Any) -> dict[str, Any]:
        body = {**self.provider.extra_params, **payload, "key": self.provider.api_key}
        response = http.request(
            "POST", self._url(path), json=body, timeout=self.timeout, ambiguous=ambiguous
        )
        text = response.text.strip()
        try:
            data = response.json()
        except ValueError:
            raise (
                token_error(text) if _is_token(text) else http.malformed(ambiguous, text)
            ) from None
        if not isinstance(data, dict):
            raise http.malformed(ambiguous, text)
        if data.get("success") is not True:
            reason = str(data.get("message") or data.get("error") or "")
            raise token_error(reason) if _is_token(reason) else http.malformed(ambiguous, text)
        return data

    def _phone(self, raw: object, country_code: str) -> str:
        """International digits: the protocol writes national numbers (``07684563067``)."""
        phone = digits(raw)
        prefix = _CALLING_CODES.get(country_code.upper(), "")
        if phone.startswith("0") and prefix:
            return prefix + phone[1:]
        if country_code.upper() == "USA" and len(phone) == 10:
            return "1" + phone
        return phone

    # --- activations ---------------------------------------------------------------------
    def fetch_offers(self) -> list[OfferQuote]:
        quotes = []
        for line in self.provider.settings.get("offers", []):
            try:
                country_id = self.our_country_id(str(line["country"]))
                if country_id is None:
                    continue
                quotes.append(
                    OfferQuote(
                        service_code=str(line["service"]),
                        country_id=country_id,
                        cost=parse_decimal(line["cost"], what="cost"),
                        stock=max(int(line.get("stock", 1)), 0),
                    )
                )
            except (KeyError, TypeError, ValueError, OverflowError):
                continue
        return quotes

    def buy(self, *, service, country, operator="", max_cost=None) -> BoughtNumber:
        """``makeorder`` takes no price: ``max_cost`` cannot be sent, and the answer does not
        say what the order cost (the offer's cost from the settings applies)."""
        country_code = self.country_code(country)
        body = self._get(
            "/api/makeorder",
            ambiguous=True,
            serviceId=self.service_code(service),
            country=country_code,
        )
        return self._order(body, country_code)

    def _order(self, body: str, country_code: str) -> BoughtNumber:
        if body.startswith("ORDER_ID_") and "_NUMBER_" in body:
            upstream_id, _, phone = body.removeprefix("ORDER_ID_").partition("_NUMBER_")
            if parsing.is_digits(upstream_id, max_length=64) and digits(phone):
                return BoughtNumber(upstream_id=upstream_id, phone=self._phone(phone, country_code))
        if _is_token(body) and not body.startswith("ORDER_ID_"):  # half an order is no refusal
            raise token_error(body)
        raise http.malformed(True, body)

    def status(self, *, upstream_id: str) -> UpstreamStatus:
        body = self._get("/api/getsms", orderId=upstream_id)
        if body == "WAITING":
            return UpstreamStatus(state=UpstreamStatus.WAITING)
        if body == "ORDER_EXPIRED":
            return UpstreamStatus(state=UpstreamStatus.CANCELLED)
        if body.startswith("SUCCESS_"):
            text = body.removeprefix("SUCCESS_")
            code = extract_code(text)
            return UpstreamStatus(
                state=UpstreamStatus.RECEIVED,
                code=code,
                text=text,
                messages=[UpstreamMessage(text=text, code=code)],
            )
        raise token_error(body) if _is_token(body) else http.malformed(False, body)

    def request_another_sms(self, *, upstream_id: str) -> None:
        raise Unsupported("The simple GET protocol cannot ask for another SMS on an order.")

    def cancel(self, *, upstream_id: str) -> None:
        self._close("/api/cancelorder", upstream_id, done="ORDER_CANCELED")

    def release_unwanted(self, *, upstream_id: str) -> None:
        """Skip the number, so this provider never offers it to us again."""
        self._close("/api/skipnumber", upstream_id, done="NUMBER_SKIPPED_ORDER_CANCELED")

    def _close(self, path: str, upstream_id: str, *, done: str) -> None:
        body = self._get(path, orderId=upstream_id)
        if body in (done, "ORDER_ALREADY_EXPIRED"):
            return
        raise token_error(body) if _is_token(body) else http.malformed(False, body)

    def finish(self, *, upstream_id: str) -> None:
        """The protocol closes an order by itself once its SMS is read."""

    def reuse(self, *, upstream_id: str, country: Any = None) -> BoughtNumber:
        """The same number again for the same service, shortly after a completed order.
        ``country`` only reads the answer's national number (default: the ``country`` setting,
        else the protocol's default NL)."""
        body = self._get("/api/reuse", ambiguous=True, orderId=upstream_id)
        default = str(self.provider.settings.get("country", "NL"))
        return self._order(body, self.country_code(country) if country else default)

    # --- long-term rentals ---------------------------------------------------------------
    def rent(self, *, service, country, hours, operator="") -> RentedNumber:
        country_code = self.country_code(country)
        data = self._post(
            "/api/rental/new",
            ambiguous=True,
            country=country_code,
            package=_package(hours),
            auto_renew=False,
        )
        return self._rented(data, country_code, ambiguous=True)

    def _rented(self, data: dict[str, Any], country_code: str, *, ambiguous: bool) -> RentedNumber:
        try:
            return RentedNumber(
                upstream_id=str(int(data["contract_id"])),
                phone=self._phone(data["phone_number"], str(data.get("country") or country_code)),
                ends_at=_datetime(data.get("expire_on")),
            )
        except (KeyError, TypeError, ValueError):
            raise http.malformed(ambiguous, str(data)[:200]) from None

    def rent_messages(self, *, upstream_id: str) -> list[UpstreamMessage]:
        data = self._post("/api/rental/view", contract_id=_contract_id(upstream_id))
        try:
            return [
                UpstreamMessage(
                    text=str(sms["body"]),
                    code=extract_code(str(sms["body"])),
                    sender=str(sms.get("sender") or ""),
                    received_at=_datetime(sms.get("receive_date")),
                    upstream_message_id=str(sms.get("id") or ""),
                )
                for sms in data.get("received_sms") or []
            ]
        except (KeyError, TypeError, ValueError, AttributeError):
            raise http.malformed(False, str(data)[:200]) from None

    def rent_extend(self, *, upstream_id: str, hours: int) -> RentedNumber:
        data = self._post(
            "/api/rental/extend",
            ambiguous=True,
            contract_id=_contract_id(upstream_id),
            package=_package(hours),
        )
        try:
            return RentedNumber(
                upstream_id=upstream_id, phone="", ends_at=_datetime(data["new_expire"])
            )
        except (KeyError, ValueError):
            raise http.malformed(True, str(data)[:200]) from None

    def rent_finish(self, *, upstream_id: str) -> None:
        """Stop the auto-renewal; the contract runs out at its expiry."""
        self._post("/api/rental/edit", contract_id=_contract_id(upstream_id), auto_renew=False)

    def rent_cancel(self, *, upstream_id: str) -> None:
        raise Unsupported("The simple GET protocol cannot cancel a rental contract.")

    # --- account -------------------------------------------------------------------------
    def balance(self) -> Decimal:
        body = self._get("/api/getbalance")
        try:
            return parse_decimal(body, what="balance")
        except ValueError:
            raise (token_error(body) if _is_token(body) else http.malformed(False, body)) from None


def _contract_id(upstream_id: str) -> int:
    """Rental contracts have numeric ids; anything else is refused before a call is made."""
    text = str(upstream_id).strip()
    if not (text.isascii() and text.isdigit()):
        raise UpstreamRejected(
            f"{text[:40]!r} is not a rental contract id of this upstream.",
            extra={"token": "BAD_CONTRACT_ID"},
        )
    return int(text)


def _package(hours: int) -> str:
    for limit, package in _PACKAGES:
        if hours <= limit:
            return package
    return "1y"


def _datetime(raw: object) -> datetime | None:
    if not raw:
        return None
    value = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)

"""The SimSmsBox REST API (seed 001) as a client: ``X-API-Key``, market, purchase, orders.

``base_url`` is the API root (``https://api.simsmsbox.com``). Bodies are JSON objects, either
bare or wrapped as ``{"code": 0, "data": …}`` / ``{"success": true, "data": …}``; a refusal is
a 4xx, ``success: false`` or a non-zero ``code``, with the reason in ``message`` (or ``msg``).
Numbers are real SIMs held for ``rentDays``: they take codes repeatedly, expire by themselves
and cannot be cancelled. Settings: ``card_kind`` (e.g. ``physical``), ``countries`` (the
provider's country codes to read markets for; by default every country it lists).
"""

from __future__ import annotations

import math
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

_ENDED = {"cancelled", "canceled", "refunded", "expired", "released", "closed", "failed"}
_FINISHED = {"completed", "finished", "done"}


def _refusal(status: int, message: str) -> UpstreamError:
    text = message.lower()
    if status in (401, 403) or "api key" in text or "unauthor" in text:
        return BadCredentials(f"The upstream refused our key: {message[:120]}")
    if "balance" in text or "insufficient" in text or status == 402:
        return UpstreamNoBalance(f"The upstream answered: {message[:120]}")
    if "no available platform" in text or "stock" in text or "no number" in text:
        return NoNumbers(f"The upstream answered: {message[:120]}")
    return UpstreamRejected(f"The upstream answered HTTP {status}: {message[:120]}")


class SimSmsBoxAdapter(Adapter):
    protocol = "simsmsbox"

    def default_country_code(self, country) -> str:
        return country.iso.upper()

    # --- transport -----------------------------------------------------------------------
    def _call(self, method: str, path: str, *, ambiguous: bool = False, **kwargs: Any) -> Any:
        response = http.request(
            method,
            self.provider.base_url.rstrip("/") + path,
            headers={"X-API-Key": self.provider.api_key, "Accept": "application/json"},
            timeout=self.timeout,
            ambiguous=ambiguous,
            **kwargs,
        )
        try:
            body = response.json()
        except ValueError:
            if response.status_code >= 400:
                raise _refusal(response.status_code, response.text) from None
            raise http.malformed(ambiguous, response.text) from None
        message = ""
        if isinstance(body, dict):
            message = str(body.get("message") or body.get("msg") or body.get("error") or "")
        if response.status_code >= 400:
            raise _refusal(response.status_code, message or response.text)
        if isinstance(body, dict):
            if body.get("success") is False or body.get("code") not in (None, 0, 200, "0"):
                raise _refusal(response.status_code, message)
            if "data" in body and ("code" in body or "success" in body):
                return body["data"]
        return body

    def _items(self, path: str, **params: Any) -> list[dict[str, Any]]:
        body = self._call("GET", path, params=params)
        if isinstance(body, dict):
            body = body.get("items") or body.get("list") or body.get("records") or []
        if not isinstance(body, list):
            raise http.malformed(False, str(body)[:200])
        return [item for item in body if isinstance(item, dict)]

    # --- activations ---------------------------------------------------------------------
    def fetch_offers(self) -> list[OfferQuote]:
        countries = self.provider.settings.get("countries") or [
            str(item.get("code") or item.get("iso") or "")
            for item in self._items("/api/sms/shop/countries")
        ]
        quotes = []
        for upstream_country in countries:
            country_id = self.our_country_id(str(upstream_country))
            if country_id is None:
                continue
            params = {"country": upstream_country}
            if self.provider.settings.get("card_kind"):
                params["cardKind"] = self.provider.settings["card_kind"]
            quotes.extend(self._market(country_id, self._items("/api/sms/shop/market", **params)))
        return quotes

    def _market(self, country_id: int, items: list[dict[str, Any]]) -> list[OfferQuote]:
        """The cheapest in-stock line per service (SimSmsBox routes a purchase to it)."""
        best: dict[str, tuple[Decimal, int]] = {}
        for item in items:
            try:
                code = str(item.get("service") or item["serviceCode"]).lower()
                cost = parse_decimal(item.get("price", item.get("cost")), what="price")
                stock = max(int(item.get("stock", item.get("count", 0))), 0)
            except (KeyError, TypeError, ValueError, OverflowError):
                continue
            if code not in best:
                best[code] = (cost, stock)
            elif stock > 0:
                old_cost, old_stock = best[code]
                cheapest = cost if old_stock == 0 else min(cost, old_cost)
                best[code] = (cheapest, old_stock + stock)
        return [
            OfferQuote(
                service_code=self.our_service_code(code), country_id=country_id, cost=c, stock=s
            )
            for code, (c, s) in best.items()
        ]

    def _purchase(self, *, service, country, days: int) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "service": self.service_code(service) if service else "",
            "country": self.country_code(country),
            "rentDays": days,
        }
        if self.provider.settings.get("card_kind"):
            payload["cardKind"] = self.provider.settings["card_kind"]
        data = self._call("POST", "/api/sms/orders/purchase", ambiguous=True, json=payload)
        if not isinstance(data, dict) or "orderId" not in data or not digits(data.get("phone")):
            raise http.malformed(True, str(data)[:200])
        return data

    def buy(self, *, service, country, operator="", max_cost=None) -> BoughtNumber:
        """The purchase request has no price cap: ``max_cost`` cannot be sent, and SimSmsBox
        sells at its current market price. The reported price comes back as the cost, and the
        router logs and records a purchase that cost more than the offer it routed to."""
        data = self._purchase(service=service, country=country, days=1)
        try:
            price = data.get("price", data.get("cost"))
            cost = None if price is None else parse_decimal(price, what="price")
        except ValueError:
            raise http.malformed(True, str(data)[:200]) from None
        return BoughtNumber(
            upstream_id=str(data["orderId"]), phone=digits(data["phone"]), cost=cost
        )

    def status(self, *, upstream_id: str) -> UpstreamStatus:
        order = self._call("GET", f"/api/sms/orders/{upstream_id}")
        if not isinstance(order, dict):
            raise http.malformed(False, str(order)[:200])
        state = str(order.get("status") or "").lower()
        code = str(order.get("latestCode") or "")
        if state in _ENDED:
            return UpstreamStatus(state=UpstreamStatus.CANCELLED, code=code)
        if code:
            messages = self.rent_messages(upstream_id=upstream_id)
            return UpstreamStatus(
                state=UpstreamStatus.FINISHED if state in _FINISHED else UpstreamStatus.RECEIVED,
                code=code,
                text=messages[0].text if messages else "",
                messages=messages,
            )
        return UpstreamStatus(state=UpstreamStatus.WAITING)

    def request_another_sms(self, *, upstream_id: str) -> None:
        """A SimSmsBox SIM keeps receiving codes while it is held: nothing to ask for."""

    def cancel(self, *, upstream_id: str) -> None:
        raise Unsupported("SimSmsBox numbers cannot be cancelled; they expire by themselves.")

    def finish(self, *, upstream_id: str) -> None:
        """Nothing to tell the upstream: the number expires at the end of its days."""

    # --- long-term rentals ---------------------------------------------------------------
    def rent(self, *, service, country, hours, operator="") -> RentedNumber:
        days = min(max(math.ceil(hours / 24), 1), 30)
        data = self._purchase(service=service, country=country, days=days)
        return self._rented(data, upstream_id=str(data["orderId"]), ambiguous=True)

    def rent_messages(self, *, upstream_id: str) -> list[UpstreamMessage]:
        messages = []
        for item in self._items(
            "/api/sms/orders/messages", page=1, pageSize=100, orderId=upstream_id
        ):
            if str(item.get("orderId", upstream_id)) != str(upstream_id):
                continue
            text = str(item.get("content") or item.get("text") or "")
            messages.append(
                UpstreamMessage(
                    text=text,
                    code=str(item.get("code") or extract_code(text)),
                    sender=str(item.get("sender") or item.get("from") or ""),
                    received_at=_datetime(item.get("receivedAt") or item.get("createdAt")),
                    upstream_message_id=str(item.get("id") or ""),
                )
            )
        return messages

    def rent_extend(self, *, upstream_id: str, hours: int) -> RentedNumber:
        days = min(max(math.ceil(hours / 24), 1), 30)
        data = self._call(
            "POST", f"/api/sms/orders/{upstream_id}/renew", ambiguous=True, json={"days": days}
        )
        return self._rented(data, upstream_id=upstream_id, ambiguous=True)

    def rent_finish(self, *, upstream_id: str) -> None:
        """The number is released by the upstream when its days run out."""

    def rent_cancel(self, *, upstream_id: str) -> None:
        raise Unsupported("SimSmsBox numbers cannot be cancelled; they expire by themselves.")

    def _rented(self, data: Any, *, upstream_id: str, ambiguous: bool) -> RentedNumber:
        if not isinstance(data, dict):
            raise http.malformed(ambiguous, str(data)[:200])
        try:
            price = data.get("price", data.get("cost"))
            return RentedNumber(
                upstream_id=upstream_id,
                phone=digits(data.get("phone") or ""),
                ends_at=_datetime(data.get("expireAt")),
                cost=None if price is None else parse_decimal(price, what="price"),
            )
        except ValueError:
            raise http.malformed(ambiguous, str(data)[:200]) from None

    # --- account -------------------------------------------------------------------------
    def balance(self) -> Decimal:
        data = self._call("GET", "/api/sms/wallet/balance")
        try:
            return parse_decimal(data["balance"], what="balance")
        except (KeyError, TypeError, ValueError):
            raise http.malformed(False, str(data)[:200]) from None


def _datetime(raw: object) -> datetime | None:
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)

"""Fake upstreams for the adapter tests: real HTTP servers on localhost speaking each protocol.

Each fake keeps a little state (orders, messages) and answers like the real service. A test can
script the next answer (``respond_next``), answer every call the same way (``respond_always``)
or make the server slower than the provider's timeout (``delay``).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Request:
    method: str
    path: str
    params: dict[str, str]
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body or b"{}")


@dataclass
class Answer:
    status: int = 200
    body: str = ""
    content_type: str = "text/plain"


# Close the connection without answering.
DROP = Answer(status=0)


def text(body: str, status: int = 200) -> Answer:
    return Answer(status=status, body=body)


def as_json(data: Any, status: int = 200) -> Answer:
    return Answer(status=status, body=json.dumps(data), content_type="application/json")


@dataclass
class FakeServer:
    requests: list[Request] = field(default_factory=list)
    delay: float = 0.0
    _scripted: deque = field(default_factory=deque)
    _always: Answer | None = None

    def __post_init__(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                split = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                params = dict(parse_qsl(split.query, keep_blank_values=True))
                if self.headers.get("Content-Type", "").startswith("application/x-www-form"):
                    params.update(parse_qsl(body.decode(), keep_blank_values=True))
                request = Request(self.command, split.path, params, body, dict(self.headers))
                fake.requests.append(request)
                if fake.delay:
                    time.sleep(fake.delay)
                answer = fake._answer(request)
                if answer is DROP:  # hang up without an answer (the request took effect)
                    self.close_connection = True
                    return
                payload = answer.body.encode()
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", answer.content_type)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            do_GET = do_POST = _serve

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def respond_next(self, answer: Answer) -> None:
        self._scripted.append(answer)

    def respond_always(self, answer: Answer | None) -> None:
        self._always = answer

    def _answer(self, request: Request) -> Answer:
        if self._scripted:
            return self._scripted.popleft()
        if self._always is not None:
            return self._always
        return self.handle(request)

    def handle(self, request: Request) -> Answer:
        raise NotImplementedError


API_KEY = "upstream-secret"
_OPEN = ("wait", "ok", "retry")


@dataclass
class FakeSmsActivate(FakeServer):
    """``/stubs/handler_api.php`` of an SMS-Activate compatible service."""

    activations: dict[int, dict[str, Any]] = field(default_factory=dict)
    rents: dict[int, dict[str, Any]] = field(default_factory=dict)
    prices: dict[str, dict[str, dict[str, Any]]] = field(
        default_factory=lambda: {
            "187": {"tg": {"cost": 0.5, "count": 12}, "wa": {"cost": "1.25", "count": 0}},
            "0": {"tg": {"cost": 0.2, "count": 100}, "zz_unknown": {"cost": 1, "count": 1}},
            "9999": {"tg": {"cost": 1, "count": 1}},
        }
    )
    next_id: int = 635468021
    # What happens after a sale: "" answer, "stall" answer after ``stall_seconds`` (past the
    # client's timeout), "drop" hang up without answering. ``sold`` is set at each sale.
    after_sale: str = ""
    stall_seconds: float = 3.0
    sold: threading.Event = field(default_factory=threading.Event)

    @property
    def handler_url(self) -> str:
        return self.url + "/stubs/handler_api.php"

    def handle(self, request: Request) -> Answer:
        p = {k.strip(): v.strip() for k, v in request.params.items()}
        if p.get("api_key") != API_KEY:
            return text("BAD_KEY")
        action = getattr(self, f"_{p.get('action', '')}", None)
        return action(p) if action else text("BAD_ACTION")

    def _getBalance(self, p: dict[str, str]) -> Answer:
        return text("ACCESS_BALANCE:12.50")

    def _getPrices(self, p: dict[str, str]) -> Answer:
        return as_json(self.prices)

    def _buy(self, p: dict[str, str]) -> dict[str, Any]:
        self.next_id += 1
        activation = {
            "id": self.next_id,
            "phone": f"7999{self.next_id % 10**7:07d}",
            "status": "wait",
            "code": "",
            "service": p.get("service", "tg"),
            "started": time.gmtime(),
        }
        self.activations[self.next_id] = activation
        self.sold.set()
        return activation

    def _sold(self, answer: Answer) -> Answer:
        if self.after_sale == "stall":
            time.sleep(self.stall_seconds)
        return DROP if self.after_sale == "drop" else answer

    def open_orders(self) -> set[str]:
        """The ids of the activations and rents still open here (paid for by the client)."""
        return {
            *(str(i) for i, a in self.activations.items() if a["status"] in _OPEN),
            *(f"rent:{i}" for i, r in self.rents.items() if r["status"] == "active"),
        }

    def _getNumber(self, p: dict[str, str]) -> Answer:
        a = self._buy(p)
        return self._sold(text(f"ACCESS_NUMBER:{a['id']}:{a['phone']}"))

    def _getNumberV2(self, p: dict[str, str]) -> Answer:
        a = self._buy(p)
        return self._sold(self._v2(a, p))

    def _v2(self, a: dict[str, Any], p: dict[str, str]) -> Answer:
        return as_json(
            {
                "activationId": a["id"],
                "phoneNumber": a["phone"],
                "activationCost": 12.5,
                "currency": 840,
                "countryCode": p.get("country", "0"),
                "canGetAnotherSms": True,
                "activationTime": "2022-06-01 17:30:57",
                "activationEndTime": "2022-06-01 17:50:57",
                "activationOperator": "any",
            }
        )

    def _getMultiServiceNumber(self, p: dict[str, str]) -> Answer:
        """One number, one activation per service (each its own id, status and code)."""
        codes = [c.strip() for c in p.get("multiService", "").split(",") if c.strip()]
        if not codes or len(set(codes)) != len(codes):
            return text("BAD_SERVICE")
        orders = [self._buy(p) for _ in codes]
        phone = orders[0]["phone"]
        for order, code in zip(orders, codes, strict=True):
            order.update(phone=phone, service=code)
        return as_json(
            [{"phone": phone, "activation": str(o["id"]), "service": o["service"]} for o in orders]
        )

    def _activation(self, p: dict[str, str]) -> dict[str, Any] | None:
        try:
            return self.activations.get(int(p.get("id", "")))
        except ValueError:
            return None

    def _getStatus(self, p: dict[str, str]) -> Answer:
        a = self._activation(p)
        if a is None:
            return text("NO_ACTIVATION")
        return text(
            {
                "wait": "STATUS_WAIT_CODE",
                "cancel": "STATUS_CANCEL",
                "ok": f"STATUS_OK:{a['code']}",
                "retry": f"STATUS_WAIT_RETRY:{a['code']}",
                "done": f"STATUS_OK:{a['code']}",
            }[a["status"]]
        )

    def _setStatus(self, p: dict[str, str]) -> Answer:
        a = self._activation(p)
        if a is None:
            return text("NO_ACTIVATION")
        status = p.get("status")
        if status in ("8", "-1"):
            a["status"] = "cancel"
            return text("ACCESS_CANCEL")
        if status == "3":
            a["status"] = "retry"
            return text("ACCESS_RETRY_GET")
        if status == "6":
            a["status"] = "done"
            return text("ACCESS_ACTIVATION")
        if status == "1":
            return text("ACCESS_READY")
        return text("BAD_STATUS")

    def deliver(self, activation_id: int, code: str) -> None:
        self.activations[activation_id].update(status="ok", code=code)

    def _getActiveActivations(self, p: dict[str, str]) -> Answer:
        items = [
            {
                "activationId": str(a["id"]),
                "serviceCode": a.get("service", "tg"),
                "phoneNumber": a["phone"],
                "activationCost": "12.50",
                "activationStatus": "2",
                "smsCode": None,
                "smsText": None,
                "activationTime": time.strftime("%Y-%m-%d %H:%M:%S", a["started"]),
                "countryCode": "187",
                "currency": "840",
            }
            for a in self.activations.values()
            if a["status"] in ("wait", "ok", "retry")
        ]
        if not items:
            return as_json({"status": "error", "message": "NO_ACTIVATIONS"})
        return as_json({"status": "success", "activeActivations": items, "data": items})

    def _getExtraActivation(self, p: dict[str, str]) -> Answer:
        old = self.activations.get(int(p.get("activationId") or 0))
        if old is None:
            return text("WRONG_ACTIVATION_ID")
        if old["status"] != "done":
            return text("RENEW_ACTIVATION_NOT_AVAILABLE")
        self.next_id += 1
        self.activations[self.next_id] = {**old, "id": self.next_id, "status": "wait", "code": ""}
        return text(f"ACCESS_NUMBER:{self.next_id}:{old['phone']}")

    def _getRentNumber(self, p: dict[str, str]) -> Answer:
        self.next_id += 1
        self.rents[self.next_id] = {"status": "active", "sms": [], "number": "79959707564"}
        self.sold.set()
        return self._sold(self._rented(self.next_id))

    def _rented(self, rent_id: int) -> Answer:
        return as_json(
            {
                "status": "success",
                "phone": {
                    "id": rent_id,
                    "endDate": "2030-01-31T12:01:52",
                    "number": "79959707564",
                },
            }
        )

    def _getRentList(self, p: dict[str, str]) -> Answer:
        running = [(i, r) for i, r in self.rents.items() if r["status"] == "active"]
        if not running:
            return as_json({"status": "error", "message": "NO_NUMBERS"})
        values = {
            str(n): {"id": str(i), "phone": r.get("number", "79959707564")}
            for n, (i, r) in enumerate(running[-10:])
        }
        return as_json({"status": "success", "values": values})

    def _getRentStatus(self, p: dict[str, str]) -> Answer:
        if "status" in p:  # the compatibility rule: getRentStatus with a status is setRentStatus
            return self._setRentStatus(p)
        rent = self.rents.get(int(p.get("id") or 0))
        if rent is None:
            return as_json({"status": "error", "message": "NO_ID_RENT"})
        if not rent["sms"]:
            return as_json({"status": "error", "message": "STATUS_WAIT_CODE"})
        values = {str(i): sms for i, sms in enumerate(reversed(rent["sms"]))}
        return as_json({"status": "success", "quantity": str(len(values)), "values": values})

    def _continueRentNumber(self, p: dict[str, str]) -> Answer:
        """A running rent is extended; a finished or cancelled one is re-ordered under a new
        id, unless a running rent holds its number (``RENT_DIE``)."""
        rent_id = int(p.get("id") or 0)
        rent = self.rents.get(rent_id)
        if rent is None:
            return as_json({"status": "error", "message": "NO_ID_RENT"})
        number = rent.get("number", "79959707564")
        if rent["status"] != "active":
            running = (r for r in self.rents.values() if r["status"] == "active")
            if any(r.get("number", "79959707564") == number for r in running):
                return as_json({"status": "error", "message": "RENT_DIE"})
            self.next_id += 1
            rent_id = self.next_id
            self.rents[rent_id] = {"status": "active", "sms": [], "number": number}
        return as_json(
            {
                "status": "success",
                "phone": {"id": rent_id, "endDate": "2030-02-01T12:01:52", "number": number},
            }
        )

    def _setRentStatus(self, p: dict[str, str]) -> Answer:
        rent = self.rents.get(int(p.get("id") or 0))
        if rent is None:
            return as_json({"status": "error", "message": "NO_ID_RENT"})
        wanted = {"1": "finished", "2": "cancelled"}.get(p.get("status", ""))
        if wanted is None:
            return as_json({"status": "error", "message": "INCORECT_STATUS"})
        if rent["status"] == wanted:
            return as_json(
                {
                    "status": "error",
                    "message": "ALREADY_FINISH" if wanted == "finished" else "ALREADY_CANCEL",
                }
            )
        rent["status"] = wanted
        return as_json({"status": "success"})


@dataclass
class FakeSimSmsBox(FakeServer):
    """The SimSmsBox REST API of seed 001."""

    orders: dict[int, dict[str, Any]] = field(default_factory=dict)
    messages: list[dict[str, Any]] = field(default_factory=list)
    next_id: int = 18

    def handle(self, request: Request) -> Answer:
        if request.headers.get("X-API-Key") != API_KEY:
            return as_json({"code": 401, "message": "invalid api key"}, status=401)
        path = request.path
        if path == "/api/sms/shop/countries":
            return as_json(
                {
                    "code": 0,
                    "data": [
                        {"code": "US", "name": "United States", "serviceCount": 2},
                        {"code": "GB", "name": "United Kingdom", "serviceCount": 1},
                        {"code": "XX", "name": "Nowhere", "serviceCount": 1},
                    ],
                }
            )
        if path == "/api/sms/shop/market":
            market = {
                "US": [
                    {
                        "service": "tg",
                        "name": "Telegram",
                        "provider": "a",
                        "price": "0.80",
                        "stock": 3,
                    },
                    {
                        "service": "tg",
                        "name": "Telegram",
                        "provider": "b",
                        "price": "0.60",
                        "stock": 5,
                    },
                    {
                        "service": "wa",
                        "name": "WhatsApp",
                        "provider": "a",
                        "price": "1.10",
                        "stock": 0,
                    },
                ],
                "GB": [
                    {
                        "service": "tg",
                        "name": "Telegram",
                        "provider": "a",
                        "price": "0.90",
                        "stock": 7,
                    }
                ],
            }
            return as_json({"code": 0, "data": market.get(request.params.get("country", ""), [])})
        if path == "/api/sms/orders/purchase" and request.method == "POST":
            body = request.json()
            if not body.get("service") or not 1 <= int(body.get("rentDays", 0)) <= 30:
                return as_json({"code": 400, "message": "invalid parameters"}, status=400)
            self.next_id += 1
            order = {
                "orderId": self.next_id,
                "displayOrderNo": f"S2606{self.next_id}",
                "phone": "+12025550123",
                "price": "0.60",
                "status": "active",
                "latestCode": None,
                "expireAt": "2030-01-02T00:00:00Z",
                "apiBindingKey": "psk_orderkey_1",
            }
            self.orders[self.next_id] = order
            return as_json({"code": 0, "data": order})
        if path == "/api/sms/orders/messages":
            items = [
                m
                for m in self.messages
                if str(m["orderId"]) == request.params.get("orderId", str(m["orderId"]))
            ]
            return as_json({"code": 0, "data": {"items": items, "total": len(items)}})
        if path.startswith("/api/sms/orders/"):
            parts = path.removeprefix("/api/sms/orders/").split("/")
            order = self.orders.get(int(parts[0])) if parts[0].isdigit() else None
            if order is None:
                return as_json({"code": 404, "message": "order not found"}, status=404)
            if parts[1:] == ["renew"]:
                order["expireAt"] = "2030-01-09T00:00:00Z"
                return as_json(
                    {
                        "code": 0,
                        "data": {"orderId": order["orderId"], "expireAt": order["expireAt"]},
                    }
                )
            return as_json({"code": 0, "data": order})
        if path == "/api/sms/wallet/balance":
            return as_json(
                {
                    "code": 0,
                    "data": {
                        "balance": "42.10",
                        "frozenAmount": "1.00",
                        "totalRecharge": "50",
                        "totalConsume": "7.9",
                    },
                }
            )
        return as_json({"code": 404, "message": "not found"}, status=404)

    def deliver(self, order_id: int, text_: str, code: str) -> None:
        self.orders[order_id]["latestCode"] = code
        self.messages.append(
            {
                "id": len(self.messages) + 1,
                "orderId": order_id,
                "sender": "Telegram",
                "content": text_,
                "code": code,
                "receivedAt": "2030-01-01T10:00:00Z",
            }
        )


@dataclass
class FakeSimpleGet(FakeServer):
    """The GET text protocol of seed 004 with its long-term rental JSON endpoints."""

    orders: dict[int, dict[str, Any]] = field(default_factory=dict)
    contracts: dict[int, dict[str, Any]] = field(default_factory=dict)
    next_id: int = 1000

    def handle(self, request: Request) -> Answer:
        params = request.json() if request.method == "POST" else request.params
        if params.get("key") != API_KEY:
            return text("INVALID_KEY")
        route = getattr(self, "_" + request.path.removeprefix("/api/").replace("/", "_"), None)
        return route(params) if route else text("NOT_FOUND", status=404)

    def _order(self, country: str, phone: str = "") -> Answer:
        """A new order, its number in national form as the seed's examples give it."""
        self.next_id += 1
        phone = phone or {"UK": "07684563067", "NL": "0612345678"}.get(country, "2025550123")
        self.orders[self.next_id] = {"status": "open", "sms": None, "phone": phone}
        return text(f"ORDER_ID_{self.next_id}_NUMBER_{phone}")

    def _makeorder(self, p: dict[str, Any]) -> Answer:
        if not p.get("serviceId"):
            return text("NO_PHONE_AVAILABLE")
        return self._order(p.get("country", "NL"))

    def _getsms(self, p: dict[str, Any]) -> Answer:
        order = self.orders.get(int(p.get("orderId") or 0))
        if order is None or order["status"] != "open":
            return text("ORDER_EXPIRED")
        return text(f"SUCCESS_{order['sms']}" if order["sms"] else "WAITING")

    def _cancelorder(self, p: dict[str, Any]) -> Answer:
        order = self.orders.get(int(p.get("orderId") or 0))
        if order is None or order["status"] == "expired":
            return text("ORDER_ALREADY_EXPIRED")
        if order["sms"]:
            return text("ORDER_ALREADY_COMPLETED")
        order["status"] = "expired"
        return text("ORDER_CANCELED")

    def _skipnumber(self, p: dict[str, Any]) -> Answer:
        answer = self._cancelorder(p)
        return text("NUMBER_SKIPPED_ORDER_CANCELED") if answer.body == "ORDER_CANCELED" else answer

    def _getbalance(self, p: dict[str, Any]) -> Answer:
        return text("7.25")

    def _reuse(self, p: dict[str, Any]) -> Answer:
        """The number of order ``orderId`` again, as a new order; gone when there is none."""
        order = self.orders.get(int(p.get("orderId") or 0))
        if order is None:
            return text("NUMBER_OFFLINE")
        return self._order("", phone=order["phone"])

    def _rental_new(self, p: dict[str, Any]) -> Answer:
        if p.get("package") not in ("1m", "3m", "6m", "1y"):
            return text("INVALID_PACKAGE")
        self.next_id += 1
        self.contracts[self.next_id] = {"auto_renew": p.get("auto_renew", True), "sms": []}
        return as_json(
            {
                "success": True,
                "contract_id": self.next_id,
                "package": p["package"],
                "auto_renew": "false",
                "expire_on": "2030-06-22T12:57:03.000000Z",
                "phone_number": "07684563067",
                "country": p.get("country"),
            }
        )

    def _rental_extend(self, p: dict[str, Any]) -> Answer:
        if int(p.get("contract_id") or 0) not in self.contracts:
            return text("NUMBER_EXPIRED")
        return as_json(
            {
                "success": True,
                "package": p.get("package", "1m"),
                "new_expire": "2030-09-22T12:57:03.000000Z",
            }
        )

    def _rental_edit(self, p: dict[str, Any]) -> Answer:
        contract = self.contracts[int(p["contract_id"])]
        contract["auto_renew"] = p["auto_renew"]
        return as_json({"success": True, "auto_renew": p["auto_renew"]})

    def _rental_view(self, p: dict[str, Any]) -> Answer:
        contract_id = int(p["contract_id"])
        return as_json(
            {
                "success": True,
                "contract_id": contract_id,
                "phone_number": "07684563067",
                "country": "UK",
                "package": "3m",
                "renewal_package": "3m",
                "auto_renew": False,
                "expire_on": "2030-09-22T12:57:03.000000Z",
                "received_sms": self.contracts[contract_id]["sms"],
            }
        )

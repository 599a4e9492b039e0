"""The support search: one box that takes whatever a customer quotes and finds the object.

``FINDERS`` is a list of small functions, each taking the cleaned term and answering the hits
of one kind of identifier (an empty list when the term is not of its kind). Another kind of
identifier is one more function appended to ``FINDERS``.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass

import phonenumbers
from django.db.models import Q
from django.urls import reverse

from apikeys.keys import key_prefix
from apikeys.models import ApiKey
from rentals.models import Activation, Rental
from smsbox import parsing
from smsbox.models import User
from wallets.models import TopUp

TERM_MAX = 254  # the longest identifier support is given (an e-mail address)
HITS_MAX = 20
_DIGITS = re.compile(r"\D+")


@dataclass(frozen=True)
class Hit:
    kind: str  # what was found: "customer", "activation", …
    title: str
    detail: str
    url: str


Finder = Callable[[str], list[Hit]]


def clean_term(raw: object) -> str:
    """The term as searched: stripped, without NUL (PostgreSQL cannot store or match it),
    at most ``TERM_MAX`` characters."""
    return str(raw or "").replace("\x00", "").strip()[:TERM_MAX]


def customer_url(user_id: int) -> str:
    return reverse("backoffice:customer", args=[user_id])


def customer_hit(user: User, why: str) -> Hit:
    flags = " · blocked" if user.blocked_at else ""
    return Hit(
        "customer", user.email or f"deleted account #{user.pk}", why + flags, customer_url(user.pk)
    )


def _activation_hit(activation: Activation, why: str) -> Hit:
    return Hit(
        "activation",
        f"Activation {activation.display_number} · {activation.get_state_display()}",
        f"{why} · {activation.user.email} · {activation.phone or 'no number yet'}",
        reverse("admin:rentals_activation_change", args=[activation.pk]),
    )


def _rental_hit(rental: Rental, why: str) -> Hit:
    return Hit(
        "rental",
        f"Rental {rental.display_number} · {rental.get_state_display()}",
        f"{why} · {rental.user.email} · {rental.phone or 'no number yet'}",
        reverse("admin:rentals_rental_change", args=[rental.pk]),
    )


def find_by_email(term: str) -> list[Hit]:
    if "@" in term:
        users = User.objects.filter(email__iexact=term)
        if not users:
            users = User.objects.filter(email__icontains=term).order_by("email")[:HITS_MAX]
        return [customer_hit(user, "e-mail") for user in users]
    if len(term) >= 3 and not parsing.is_digits(term, max_length=len(term)):
        users = User.objects.filter(email__icontains=term).order_by("email")[:HITS_MAX]
        return [customer_hit(user, "e-mail contains the text") for user in users]
    return []


def find_by_order_id(term: str) -> list[Hit]:
    """An activation or rental id, or its display number (``A…``, ``R…``)."""
    hits: list[Hit] = []
    if parsing.is_digits(term):
        pk = int(term)
        hits += [_activation_hit(a, "activation id") for a in _activations(Q(pk=pk))]
        hits += [_rental_hit(r, "rental id") for r in _rentals(Q(pk=pk))]
    if len(term) <= 20:
        hits += [
            _activation_hit(a, "display number")
            for a in _activations(Q(display_number__iexact=term))
        ]
        hits += [_rental_hit(r, "display number") for r in _rentals(Q(display_number__iexact=term))]
    return hits


def find_by_phone(term: str) -> list[Hit]:
    """A phone number in any format: ``+1 (555) 010-0001``, ``15550100001``, ``00 44 …``."""
    number = normalise_phone(term)
    if number is None:
        return []
    forms = [number, f"+{number}"]
    return [_activation_hit(a, "phone") for a in _activations(Q(phone__in=forms))] + [
        _rental_hit(r, "phone") for r in _rentals(Q(phone__in=forms))
    ]


def normalise_phone(term: str) -> str | None:
    """The number's E.164 digits (no ``+``), or None when ``term`` is not a phone number."""
    digits = _DIGITS.sub("", term)
    if not 7 <= len(digits) <= 15 or re.search(r"[^\d\s().+\-/]", term):
        return None
    candidate = "+" + digits[2:] if term.lstrip().startswith("00") else "+" + digits
    try:
        parsed = phonenumbers.parse(candidate, None)
    except phonenumbers.NumberParseException:
        return digits
    if not phonenumbers.is_possible_number(parsed):
        return digits
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)[1:]


def find_by_upstream_id(term: str) -> list[Hit]:
    if len(term) > 64:
        return []
    return [_activation_hit(a, "upstream order id") for a in _activations(Q(upstream_id=term))] + [
        _rental_hit(r, "upstream order id") for r in _rentals(Q(upstream_id=term))
    ]


def find_by_api_key(term: str) -> list[Hit]:
    """A key's prefix (the first 8 characters; a whole pasted key works too)."""
    if len(term) < 8 or not term.isalnum():
        return []
    keys = ApiKey.objects.filter(prefix=key_prefix(term)).select_related("user")[:HITS_MAX]
    return [
        customer_hit(key.user, f"API key {key.prefix}… {'revoked' if key.revoked_at else 'live'}")
        for key in keys
    ]


_TOP_UP_ID = re.compile(r"#?(\d{1,18})")
_HASH = re.compile(r"[0-9A-Za-z]{16,128}")


def find_by_top_up(term: str) -> list[Hit]:
    """A top-up id (``#12`` or ``12``), our order id or the processor's invoice or payment id,
    or a transaction hash the customer quotes (whole, with or without ``0x``); each top-up
    answers itself and its customer, whose page lists the customer's top-ups."""
    condition = Q(order_id=term) | Q(processor_ref=term) | Q(processor_payment_id=term)
    if match := _TOP_UP_ID.fullmatch(term):
        condition |= Q(pk=int(match[1]))
    if _HASH.fullmatch(term.removeprefix("0x")):
        condition |= Q(tx_hashes__icontains=term)
    top_ups = TopUp.objects.filter(condition).select_related("user", "processor")[:HITS_MAX]
    hits: list[Hit] = []
    for top_up in top_ups:
        hits.append(_top_up_hit(top_up))
        if top_up.user is not None:
            hits.append(customer_hit(top_up.user, f"top-up #{top_up.pk}"))
    return hits


def _top_up_hit(top_up: TopUp) -> Hit:
    hashes = ", ".join(top_up.tx_hashes.split()) or "no transaction hash yet"
    return Hit(
        "top-up",
        f"Top-up #{top_up.pk} · {top_up.amount:.2f} {top_up.currency} · "
        f"{top_up.get_status_display()}",
        f"{top_up.processor.name} · {getattr(top_up.user, 'email', '')} · {hashes}",
        reverse("admin:wallets_topup_change", args=[top_up.pk]),
    )


FINDERS: list[Finder] = [
    find_by_email,
    find_by_order_id,
    find_by_phone,
    find_by_upstream_id,
    find_by_api_key,
    find_by_top_up,
]


def support_search(raw: object) -> list[Hit]:
    """Every hit of every finder, each object once, at most ``HITS_MAX``."""
    term = clean_term(raw)
    if not term:
        return []
    hits: dict[str, Hit] = {}
    for finder in FINDERS:
        for hit in finder(term):
            hits.setdefault(hit.url, hit)
    return list(hits.values())[:HITS_MAX]


def _activations(condition: Q) -> list[Activation]:
    return list(Activation.objects.filter(condition).select_related("user")[:HITS_MAX])


def _rentals(condition: Q) -> list[Rental]:
    return list(Rental.objects.filter(condition).select_related("user")[:HITS_MAX])

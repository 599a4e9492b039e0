"""The Russian dashboard: the catalog translates every string smsbox marks, the committed .mo
is the compiled .po, and no English string of the catalog is left on the main pages when the
browser asks for Russian."""

import gettext
import html
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.urls import reverse

from apikeys.services import api_key_create
from rentals.services import activation_purchase
from rentals.services.rentals import rental_purchase
from tests.rentals.conftest import sms_arrives
from wallets.models import PaymentProcessor
from wallets.topup_services import topup_create

CATALOG = Path(django_settings.BASE_DIR) / "locale" / "ru" / "LC_MESSAGES"
ENTRY = re.compile(r'^(#, fuzzy\n)?(?:#.*\n)*msgid ("(?:.*)"\n(?:".*"\n)*)', re.MULTILINE)


def po_entries() -> list[dict]:
    """The catalog's entries: msgid, msgstr (every plural form), fuzzy or not."""
    entries = []
    for block in (CATALOG / "django.po").read_text().split("\n\n"):
        fields: dict[str, str] = {}
        current = ""
        for line in block.splitlines():
            if line.startswith("#"):
                fields["fuzzy"] = fields.get("fuzzy", "") or ("fuzzy" in line and line[:2] == "#,")
                continue
            match = re.match(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d\])?) "(.*)"$', line)
            if match:
                current = match.group(1)
                fields[current] = match.group(2)
            elif line.startswith('"') and current:
                fields[current] += line[1:-1]
        if fields.get("msgid"):
            entries.append(fields)
    return entries


def unescape(text: str) -> str:
    return text.encode("latin-1", "backslashreplace").decode("unicode_escape")


def test_every_marked_string_has_a_russian_translation():
    entries = po_entries()
    untranslated = [
        e["msgid"]
        for e in entries
        if e.get("fuzzy") or any(v == "" for k, v in e.items() if k.startswith("msgstr"))
    ]

    assert len(entries) > 300 and untranslated == []


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="needs gettext's msgfmt")
def test_the_committed_mo_is_the_compiled_po(tmp_path):
    compiled = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "-o", str(compiled), str(CATALOG / "django.po")], check=True)

    def catalog(path: Path) -> dict:
        with path.open("rb") as mo:
            return dict(gettext.GNUTranslations(mo)._catalog)

    assert catalog(CATALOG / "django.mo") == catalog(compiled)


@pytest.fixture
def busy_customer(customer, simulator, telegram, usa, settings):
    """Something on every page: a code received, an activation waiting, a rental, a key, a
    paid top-up."""
    settings.SMSBOX_SANDBOX_PAYMENTS = True
    sms_arrives(activation_purchase(user=customer, service=telegram, country=usa))
    activation_purchase(user=customer, service=telegram, country=usa)
    rental_purchase(user=customer, country=usa, hours=4)
    api_key_create(user=customer, name="bot")
    PaymentProcessor.objects.create(name="sandbox", kind="sandbox", secret="s" * 32)
    return customer


def visible_text(page: str) -> str:
    """What a reader sees: the text between tags, placeholders and labels in attributes."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.DOTALL)
    attributes = re.findall(r'(?:placeholder|aria-label|title|data-label)="([^"]*)"', page)
    text = re.sub(r"<[^>]+>", "\n", page)
    return html.unescape("\n".join([text, *attributes]))


def english_left(english: str, russian: str) -> list[str]:
    """The catalog's English strings seen on the English page that the Russian page still
    shows (those Russian writes the same, like "REST API", do not count)."""
    left = []
    for entry in po_entries():
        msgid, msgstr = unescape(entry["msgid"]), unescape(entry.get("msgstr", ""))
        if "%(" in msgid or len(msgid) < 4 or msgstr == msgid:
            continue
        if re.search(rf"(?<!\w){re.escape(msgid)}(?!\w)", english) and re.search(
            rf"(?<!\w){re.escape(msgid)}(?!\w)", russian
        ):
            left.append(msgid)
    return left


@pytest.mark.django_db
def test_the_main_pages_leave_no_english_string_in_russian(client_in, busy_customer):
    top_up = topup_create(
        user=busy_customer,
        amount="12.00",
        processor_name="sandbox",
        pay_currency="BTC",
        base_url="http://testserver",
    )
    client_in.post(reverse("payments-sandbox-action", args=[top_up.processor_ref, "pay"]))
    pages = [
        "/",
        "/?service=tg&country=187",
        "/rent/",
        "/numbers/",
        "/history/",
        "/history/?kind=rentals",
        "/balance/",
        "/wallet/top-up/",
        "/wallet/top-ups/",
        f"/wallet/top-ups/{top_up.pk}/",
        "/api-access/",
        "/developer/",
        "/account/",
    ]
    left = {}
    for url in pages:
        english = client_in.get(url, HTTP_ACCEPT_LANGUAGE="en")
        russian = client_in.get(url, HTTP_ACCEPT_LANGUAGE="ru")
        assert (english.status_code, russian.status_code) == (200, 200), url
        found = english_left(visible_text(english.text), visible_text(russian.text))
        if found:
            left[url] = found

    assert left == {}


@pytest.mark.django_db
def test_known_strings_read_in_russian(client_in, busy_customer):
    numbers = visible_text(client_in.get("/numbers/", HTTP_ACCEPT_LANGUAGE="ru").text)
    balance = visible_text(client_in.get("/balance/", HTTP_ACCEPT_LANGUAGE="ru").text)
    top_up = visible_text(client_in.get("/wallet/top-up/", HTTP_ACCEPT_LANGUAGE="ru").text)

    assert {"Мои номера", "Код получен", "Ждём SMS"} <= set(numbers.split("\n"))
    assert "Telegram · США" in numbers and "Telegram · USA" not in numbers
    assert "Списание" in balance and "Charge" not in balance
    assert "Перейти к оплате" in top_up and "Continue to payment" not in top_up

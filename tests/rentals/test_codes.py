# ruff: noqa: RUF001 (Cyrillic and full-width characters are part of real SMS texts)
"""SMS code extraction, table-driven over real-looking texts of the services customers use."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from rentals.codes import DEFAULT_CODE_PATTERNS, extract_code

SMS_TEXTS = [
    (
        "Telegram code: 12345\n\nYou can also tap on this link to log in:\nhttps://t.me/login/12345",
        "12345",
    ),
    (
        "Login code: 54321. Do not give this code to anyone, even if they say they are from "
        "Telegram!\n\nThis code can be used to log in to your Telegram account. We never ask it "
        "for anything else.\n\nIf you didn't request this code by trying to log in on another "
        "device, simply ignore this message.",
        "54321",
    ),
    ("Код подтверждения Telegram: 67890", "67890"),
    ("Your WhatsApp code: 123-456\n\nDon't share this code with others\n4sgLq1p5sV6", "123456"),
    (
        "<#> Your WhatsApp Business code 987-654\nYou can also tap on this link to verify your "
        "phone: v.whatsapp.com/987654\nDon't share this code with others\nFA+9qCX9VSu",
        "987654",
    ),
    ("G-482913 is your Google verification code.", "482913"),
    ("Your Google verification code is 482913", "482913"),
    ("FB-52781 is your Facebook confirmation code", "52781"),
    ("<#> 12345678 is your Facebook code Laz+nxCarLW", "12345678"),
    ("Use 123 456 to verify your Instagram account.", "123456"),
    ("123 456 is your Instagram code. Don't share it.", "123456"),
    (
        "[TikTok] 731284 is your verification code, valid for 5 minutes. To keep your account "
        "safe, never forward this code.",
        "731284",
    ),
    ("Use 4821 as Microsoft account security code", "4821"),
    ("Microsoft account security code: 1234567", "1234567"),
    ("123456 is your Amazon OTP. Do not share it with anyone.", "123456"),
    (
        "Amazon: Your code is 654321. Don't share it. If you didn't request it, deny here https://amazon.com/a/c/r/AbC123xYz",
        "654321",
    ),
    (
        "Your Apple ID Code is: 842193. Don't share it with anyone.\n\n"
        "@apple.com #842193 %apple.com",
        "842193",
    ),
    ("Your Twitter confirmation code is 193847.", "193847"),
    (
        "Your Uber code: 4827. Never share this code. "
        "Reply STOP ALL to +1 415-237-0403 to unsubscribe.",
        "4827",
    ),
    ("Your Discord security code is: 385926", "385926"),
    ("Snapchat code: 561234. Happy Snapping!", "561234"),
    (
        "PayPal: Your security code is 918273. Your code expires in 10 minutes. "
        "Please don't reply.",
        "918273",
    ),
    ("[WeChat] Your verification code is 605128. The code will expire in 10 minutes.", "605128"),
    ("VK: 839201 — код для входа в аккаунт. Никому не сообщайте его.", "839201"),
    ("Ваш код подтверждения: 4402. Никому не сообщайте его.", "4402"),
    ("Your Steam Guard code is: F4K2N", "F4K2N"),
    ("Your verification code: AB12CD", "AB12CD"),
    ("Your one-time password is 5678", "5678"),
    ("Your Signal code: 123456. Do not share this code\n\ndoDiFGKPO1r", "123456"),
    ("Your verification code is valid for 10 minutes: 772211", "772211"),
    ("[Binance] Verification code: 334455. Expires in 30 minutes. Do not share it.", "334455"),
    ("Your OpenAI API verification code is: 091827", "091827"),
    ("Yahoo: 24680 is your verification code", "24680"),
    ("Your Tinder code is 135790", "135790"),
    ("Hello, thank you for shopping with us.", None),
    ("", None),
    ("【抖音】验证码 552233，用于手机验证码登录，5分钟内有效。", "552233"),
    ("Tu código de WhatsApp: 321-654", "321654"),
    ("Netflix: Your verification code is 1234", "1234"),
    ("LINE: Your verification code is 5678. It expires in 30 minutes.", "5678"),
    ("Your Viber code: 665544\nDo not share it", "665544"),
    ("Твой код для входа в ВКонтакте: 123456", "123456"),
]


@pytest.mark.parametrize(("text", "expected"), SMS_TEXTS)
def test_extract_code_finds_the_code_of_real_sms_texts(text, expected):
    assert extract_code(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Your code: 123-456", "123456"),
        ("Use 123 456 to log in", "123456"),
        ("G-123456 is your code", "123456"),
        ("code: AB12CD", "AB12CD"),
        ("The PIN is 1234", "1234"),
        ("123456", "123456"),
    ],
)
def test_common_forms_are_normalised(text, expected):
    assert extract_code(text) == expected


def test_first_matching_pattern_wins_over_an_earlier_position_in_the_text():
    # the plain number comes first in the text, but the labelled code is the better guess
    assert extract_code("Order 4711: your code is 9876") == "9876"


def test_custom_patterns_replace_the_defaults():
    patterns = [r"PIN=(\d+)", r"#(?P<code>[A-Z]{3})#"]
    assert extract_code("Your PIN=8080 for code 123456", patterns) == "8080"
    assert extract_code("Token #XYZ# code 123456", patterns) == "XYZ"
    assert extract_code("code 123456", patterns) is None


def test_a_pattern_without_groups_takes_the_whole_match():
    assert extract_code("ref 42-17", [r"[0-9]+-[0-9]+"]) == "4217"


def test_the_setting_supplies_the_patterns(settings):
    settings.SMSBOX_CODE_PATTERNS = [r"KEY (?P<code>\w+)"]
    assert extract_code("KEY zz99 and code 123456") == "zz99"
    settings.SMSBOX_CODE_PATTERNS = []
    assert extract_code("KEY zz99 and code 123456") == "123456"


def test_a_code_never_contains_a_colon():
    assert extract_code("ticket A1:B2", [r"ticket (\S+)"]) == "A1B2"


def test_an_invalid_pattern_is_a_clear_configuration_error():
    with pytest.raises(ImproperlyConfigured, match="invalid"):
        extract_code("code 1234", ["(unclosed"])


def test_default_patterns_are_valid_and_ordered_from_specific_to_plain():
    assert extract_code("G-111111 code: 222222 is 333333 444 555 666666") == "111111"
    assert len(DEFAULT_CODE_PATTERNS) >= 4

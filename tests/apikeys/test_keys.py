import hashlib
import string

import pytest

from apikeys.errors import ApiKeyInvalidFormat
from apikeys.keys import generate_key, is_well_formed, key_digest, key_prefix, validate_key


def test_a_generated_key_is_40_letters_and_digits():
    keys = {generate_key() for _ in range(50)}

    assert len(keys) == 50
    for key in keys:
        assert len(key) == 40
        assert set(key) <= set(string.ascii_letters + string.digits)
        assert is_well_formed(key)


def test_the_prefix_is_the_first_8_characters():
    assert key_prefix("abcdefgh" + "x" * 32) == "abcdefgh"


def test_the_digest_is_the_sha256_hex_of_the_whole_key():
    # the FIPS 180-2 test vector, then a real key
    assert key_digest("abc") == ("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    key = "A" * 40
    assert key_digest(key) == hashlib.sha256(key.encode()).hexdigest()
    assert key_digest(key) != key_digest("A" * 39 + "B")


@pytest.mark.parametrize(
    "raw_key",
    [
        "a" * 31,  # too short
        "",
        "a" * 129,  # too long
        "a" * 31 + "-",  # not alphanumeric
        "a" * 32 + " ",
        "a" * 31 + "é",  # letters outside A-Z
        "a" * 31 + "\n",
    ],
)
def test_a_custom_key_that_is_short_or_not_alphanumeric_is_refused(raw_key):
    with pytest.raises(ApiKeyInvalidFormat) as refused:
        validate_key(raw_key)

    assert refused.value.code == "INVALID_API_KEY_FORMAT"
    assert "32" in refused.value.message


@pytest.mark.parametrize("raw_key", ["a" * 32, "Z9" * 16, "k" * 128, "0123456789" * 4])
def test_a_custom_key_of_32_or_more_letters_and_digits_is_accepted(raw_key):
    assert validate_key(raw_key) == raw_key

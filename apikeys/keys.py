"""The API key format: pure functions, no database.

A generated key is 40 letters and digits: an 8-character public prefix and a 32-character
random secret (about 190 bits from ``secrets``). An operator may install a chosen key of 32 to
128 letters and digits. The prefix of any key is its first 8 characters; the database keeps
the prefix and the SHA-256 hex digest of the whole key, never the key itself.
"""

import hashlib
import re
import secrets
import string

from apikeys.errors import ApiKeyInvalidFormat

ALPHABET = string.ascii_letters + string.digits
PREFIX_LENGTH = 8
SECRET_LENGTH = 32
MIN_LENGTH = 32
MAX_LENGTH = 128

_KEY_RE = re.compile(rf"[A-Za-z0-9]{{{MIN_LENGTH},{MAX_LENGTH}}}")


def generate_key() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(PREFIX_LENGTH + SECRET_LENGTH))


def is_well_formed(raw_key: str) -> bool:
    return isinstance(raw_key, str) and _KEY_RE.fullmatch(raw_key) is not None


def validate_key(raw_key: str) -> str:
    """Answer ``raw_key`` when it may be installed as a key, else raise ``ApiKeyInvalidFormat``."""
    if not is_well_formed(raw_key):
        raise ApiKeyInvalidFormat(extra={"min_length": MIN_LENGTH, "max_length": MAX_LENGTH})
    return raw_key


def key_prefix(raw_key: str) -> str:
    return raw_key[:PREFIX_LENGTH]


def key_digest(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode("ascii")).hexdigest()

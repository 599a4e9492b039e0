import pytest


@pytest.fixture(autouse=True)
def _isolated_cache():
    """Each test starts with an empty cache (the circuit breaker, rate limits, key checks)."""
    from django.core.cache import cache

    cache.clear()
    yield

import pytest

from core.errors import InputError
from core.settings import Settings
from service.limits import checked_k, checked_query

SETTINGS = Settings(max_query_chars=10, default_k=4, max_k=20)


def test_query_is_stripped_and_bounded():
    assert checked_query("  hi  ", SETTINGS) == "hi"
    with pytest.raises(InputError, match="^query: must not be blank"):
        checked_query("   ", SETTINGS)
    with pytest.raises(InputError, match="^query: 11 characters is over the limit of 10"):
        checked_query("x" * 11, SETTINGS)


def test_k_defaults_and_range():
    assert checked_k(None, SETTINGS) == 4
    assert checked_k(20, SETTINGS) == 20
    for bad in (0, 21):
        with pytest.raises(InputError, match=f"^k: {bad} is out of range; send a whole number from 1 to 20"):
            checked_k(bad, SETTINGS)

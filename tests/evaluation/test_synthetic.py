import pytest

from core.errors import InputError
from evaluation.synthetic import excludes_synthetic, select_records

RECORDS = [{"id": 1, "synthetic": False}, {"id": 2, "synthetic": True}, {"id": 3}]


def test_exclude_drops_only_records_marked_synthetic():
    assert select_records(RECORDS, "include") == RECORDS
    assert [r["id"] for r in select_records(RECORDS, "exclude")] == [1, 3]


def test_the_choice_is_include_or_exclude():
    assert excludes_synthetic("exclude") and not excludes_synthetic("include")
    with pytest.raises(InputError, match="unknown --synthetic 'Exclude'; expected one of: include, exclude"):
        select_records(RECORDS, "Exclude")

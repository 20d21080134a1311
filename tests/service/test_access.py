import pytest

from core.errors import InputError
from retrieval.filters import collection_filter
from service.access import Action, forbidden_collections, may, request_filters, scoped_filters
from service.keys import ApiKey, Role

MATRIX = {
    Role.reader: {Action.search},
    Role.user: {Action.search, Action.generate, Action.feedback},
    Role.admin: set(Action),
}


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("action", list(Action))
def test_role_matrix(role, action):
    assert may(role, action) == (action in MATRIX[role])


def test_request_filters_name_the_field():
    assert request_filters(None, "demo") == [collection_filter(["demo"])]
    with pytest.raises(InputError, match="^filters: unknown filter key"):
        request_filters({"colour": "red"}, None)


def test_a_key_with_collections_is_scoped_to_them():
    key = ApiKey(1, None, Role.user, ["demo"])
    filters = request_filters({"collection": ["demo", "secret"]}, None)
    assert forbidden_collections(key, filters) == {"secret"}
    assert scoped_filters(key, filters)[-1] == collection_filter(["demo"])
    unrestricted = ApiKey(2, None, Role.user, None)
    assert forbidden_collections(unrestricted, filters) == set()
    assert scoped_filters(unrestricted, filters) == filters

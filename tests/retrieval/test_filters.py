import pytest

from core.errors import InputError
from retrieval.filters import (
    Filter,
    collection_filter,
    filter_sql,
    metadata_filter,
    parse_filter_args,
    parse_filter_json,
    synthetic_filter,
    uri_prefix_filter,
)


def test_cli_fields_metadata_keys_and_lists():
    assert parse_filter_args(
        ["lang=en", "team in (a, 'b c')", "synthetic=false", "uri_prefix=file:///docs/", "metadata.collection=x"],
        collection="demo",
    ) == [
        collection_filter(["demo"]),
        metadata_filter("lang", ["en"]),
        metadata_filter("team", ["a", "b c"]),
        synthetic_filter(False),
        uri_prefix_filter(["file:///docs/"]),
        metadata_filter("collection", ["x"]),
    ]


def test_cli_value_may_contain_equals_and_operators():
    assert parse_filter_args(["title=a=b<c"]) == [metadata_filter("title", ["a=b<c"])]


@pytest.mark.parametrize("item", ["lang!=en", "year>=2020", "lang like en", "lang==en"])
def test_cli_unknown_operator_is_named(item):
    with pytest.raises(InputError, match="unknown operator"):
        parse_filter_args([item])


@pytest.mark.parametrize("item", ["lang", "=en", "team in ()"])
def test_cli_malformed_filter_is_refused(item):
    with pytest.raises(InputError, match="filter"):
        parse_filter_args([item])


def test_cli_bad_key_and_bad_boolean_are_refused():
    with pytest.raises(InputError, match="invalid filter key.*collection, uri_prefix, synthetic"):
        parse_filter_args(["lang' OR 1=1 --=x"])
    with pytest.raises(InputError, match="true or false"):
        parse_filter_args(["synthetic=maybe"])


def test_json_filters():
    assert parse_filter_json(
        {
            "collection": ["a", "b"],
            "uri_prefix": "file:///x",
            "synthetic": True,
            "metadata": {"lang": "en", "n": [1, True]},
        }
    ) == [
        collection_filter(["a", "b"]),
        uri_prefix_filter(["file:///x"]),
        synthetic_filter(True),
        metadata_filter("lang", ["en"]),
        metadata_filter("n", ["1", "true"]),
    ]
    assert parse_filter_json(None) == []


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ({"colection": "a"}, "unknown filter key.*'colection'.*allowed: collection, uri_prefix, synthetic, metadata"),
        ({"synthetic": "no"}, "true or false"),
        ({"collection": []}, "non-empty list"),
        ({"collection": 3}, "'collection' must be a str"),
        ({"metadata": ["lang"]}, "'metadata' must be an object"),
        ({"metadata": {"a b": "x"}}, "invalid filter key 'a b'"),
        ({"metadata": {"lang": {"nested": 1}}}, "'metadata.lang'"),
        ("collection=a", "must be a JSON object"),
    ],
)
def test_json_errors_name_the_problem(obj, message):
    with pytest.raises(InputError, match=message):
        parse_filter_json(obj)


def test_sql_binds_every_value_and_escapes_like_wildcards():
    condition, params = filter_sql(
        [collection_filter(["a"]), uri_prefix_filter(["file:///50%_off\\"]), Filter("metadata", ("x'; DROP",), "k")]
    )
    assert condition == (
        "col.name = ANY(%s::text[]) AND s.uri LIKE ANY(%s::text[]) AND s.metadata ->> %s::text = ANY(%s::text[])"
    )
    assert params == [["a"], ["file:///50\\%\\_off\\\\%"], "k", ["x'; DROP"]]
    assert filter_sql([]) == ("TRUE", [])

"""The Models page's JSON route: the registry with each model's figures, the served model and
its answer policy, and a note when the registry would serve another; paths for admins only."""

from models.registry import register_model
from tests.service.test_web import get_page


def test_the_registry_comes_with_the_served_model_and_its_policy(client, auth, conn, tmp_path):
    view = client.get("/web/api/models", headers=auth["reader"]).json()
    served = view["served"]
    assert served["name"] == "scripted" and "path" not in served
    assert [m["id"] for m in view["models"]] == [served["id"]] and view["registry_serving_id"] == served["id"]
    assert view["policy"]["decoding"] in {"copy", "free"} and "gate_threshold" in view["policy"]
    assert view["refresh_seconds"] == client.app.state.services.settings.model_refresh_seconds

    figures = {"eval": {"retrieved": {"exact_match": 0.5}}}
    tuned = register_model(
        conn, name="tuned", kind="full", path=tmp_path, sha256="1" * 64, metrics=figures, policy={"decoding": "free"}
    )
    register_model(conn, name="later", kind="full", path=tmp_path, sha256="2" * 64, parent_id=tuned, status="promoted")
    view = client.get("/web/api/models", headers=auth["admin"]).json()
    by_name = {m["name"]: m for m in view["models"]}
    assert by_name["tuned"]["metrics"] == figures and by_name["tuned"]["policy"] == {"decoding": "free"}
    assert by_name["later"]["parent_id"] == tuned and by_name["later"]["path"] == str(tmp_path)
    assert view["served"]["name"] == "scripted" and view["registry_serving_id"] == by_name["later"]["id"]


def test_the_models_route_needs_a_key(client):
    assert client.get("/web/api/models").status_code == 401


def test_the_models_page_has_the_registry_table_and_is_in_the_navigation(client):
    page = get_page(client, "/web/models")
    assert page.select("table", id="models") and page.select("dl", id="policy") and page.select("p", id="served")
    assert page.select("a", href="/web/models", **{"aria-current": "page", "data-requires": "search"})

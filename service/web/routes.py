"""The web app's routes: server-rendered pages (``GET /``: Ask; ``/web/search``, ``/web/sources``,
``/web/logs``, ``/web/models``), the static files under ``/static`` (shipped in the package,
nothing from the network), and the JSON helpers the pages call with the tab's key: here
``GET /web/api/me`` (the key's role and what it may do, so a page offers only that) and
``GET /web/api/passages/{chunk_id}`` (a cited passage inside its source text); the Sources,
Logs and Models pages' own in ``sources_api``, ``logs_api`` and ``models_api``. The pages
themselves need no key: every read and action they offer is checked by its route."""

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, FastAPI, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field

from core.errors import NotFoundError
from service.access import ALLOWED, may
from service.deps import ServicesDep
from service.schemas import BIGINT_MAX
from service.web import logs_api, models_api, sources_api
from service.web.access import AnyKey
from service.web.passages import passage_view

WEB_DIR = Path(__file__).parent
templates = Jinja2Templates(directory=WEB_DIR / "templates")
router = APIRouter(include_in_schema=False)

# path -> (template, the page's name in the navigation, title)
PAGES = {
    "/": ("ask.html", "ask", "Ask"),
    "/web/search": ("search.html", "search", "Search"),
    "/web/sources": ("sources.html", "sources", "Sources"),
    "/web/logs": ("logs.html", "logs", "Logs"),
    "/web/models": ("models.html", "models", "Models"),
}


class KeyInfo(BaseModel):
    name: str | None
    role: str
    collections: list[str] | None = Field(description="The collections the key may read; null: all.")
    may: list[str] = Field(description="The actions the role allows (search, generate, feedback, logs, delete).")


class PassageResponse(BaseModel):
    chunk_id: int
    source: str
    collection: str
    metadata: dict
    pages: list[int]
    span: tuple[int, int]
    context: str
    context_start: int
    mark: tuple[int, int]
    more_before: bool
    more_after: bool


def page_route(template: str, page: str, title: str):
    """A route that renders ``template``; the page's script loads its data with the tab's key."""

    def render(request: Request) -> HTMLResponse:
        return templates.TemplateResponse(request, template, {"page": page, "title": title})

    render.__name__ = f"{page}_page"
    return render


for _path, (_template, _page, _title) in PAGES.items():
    router.add_api_route(_path, page_route(_template, _page, _title), methods=["GET"], response_class=HTMLResponse)


@router.get("/web/api/me", response_model=KeyInfo)
def me(key: AnyKey) -> KeyInfo:
    """The calling key's role and the actions it allows."""
    allowed = [action.value for action in ALLOWED if may(key.role, action)]
    return KeyInfo(name=key.name, role=key.role.value, collections=key.collections, may=allowed)


@router.get("/web/api/passages/{chunk_id}", response_model=PassageResponse)
def passage(
    chunk_id: Annotated[int, PathParam(ge=1, le=BIGINT_MAX)], services: ServicesDep, key: AnyKey
) -> PassageResponse:
    """A chunk the key may read, with its source text around it and its span in that text."""
    with services.pool.connection() as conn:
        view = passage_view(conn, chunk_id, key.collections)
    if view is None:
        raise NotFoundError(f"chunk_id: no passage {chunk_id} that this key may read; it may have been deleted.")
    return PassageResponse(**view.__dict__)


def install_web(app: FastAPI) -> None:
    """Mount the pages, their JSON helpers and the static files on ``app``."""
    app.include_router(router)
    for module in (sources_api, logs_api, models_api):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=WEB_DIR / "static", check_dir=True), name="static")

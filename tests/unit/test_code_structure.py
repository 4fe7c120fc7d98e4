"""Code structure in the repository index: mounts and prefixes, renders, models, UI text,
and the lookups and retrieval built on them (small repositories written here)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.support import indexed

from ticketflow.adapters.libsql.repo_index import LibsqlRepoIndex
from ticketflow.repo_index.link import link
from ticketflow.repo_index.paths import demotion, singular
from ticketflow.repo_index.structure import (
    StructureFacts,
    add_names,
    extract_structure,
    from_json,
    to_json,
)
from ticketflow.repo_index.structure_markup import is_catalogue, template_text
from ticketflow.repo_index.structure_ts import jsx_text
from ticketflow.workflow.retrieval import retrieve

FLASK = {
    "shop/config.py": 'class Default:\n    ORDERS_URL_PREFIX = "/orders"\n',
    "shop/orders/views.py": """
from flask import Blueprint, render_template

def load(app):
    orders = Blueprint("orders", __name__)
    register(orders, routes=["/<int:order_id>/refund"], view_func=refund)
    orders.add_url_rule("/<int:order_id>", view_func=detail, methods=["GET"])
    app.register_blueprint(orders, url_prefix=app.config["ORDERS_URL_PREFIX"])

def detail(order_id):
    return render_template("orders/detail.html", order=order_id)
""",
    "shop/templates/orders/detail.html": """{% extends "layout.html" %}
<h1>{{ _("Order details") }}</h1><button title="Refund this order">Refund</button>
<p>Shipped on {{ order.shipped }}</p>""",
    "shop/templates/layout.html": "<html><body>{% block body %}{% endblock %}</body></html>",
    "shop/models.py": """
from shop.db import db

class OrderLine(db.Model):
    __tablename__ = "order_lines"
""",
}

FASTAPI = {
    "svc/routers/users.py": """
from fastapi import APIRouter
router = APIRouter(prefix="/users")

@router.get("/{user_id}")
async def get_user(user_id: int): ...
""",
    "svc/api.py": """
from fastapi import FastAPI
from svc.routers.users import router as users_router
app = FastAPI()
app.include_router(users_router, prefix="/v2")
""",
    "svc/main.py": """
from fastapi import FastAPI
from svc import api
root = FastAPI()
root.mount("/admin", api.app)
""",
    "svc/__init__.py": "",
}

EXPRESS = {
    "src/constants/Paths.ts": """
const Paths = { Base: '/api', Items: { Base: '/items', One: '/:itemId' } } as const;
export default Paths;
""",
    "src/routes/items.ts": """
import { Router } from 'express';
import Paths from '../constants/Paths';
import * as ItemService from '../services/ItemService';
const itemRouter = Router();
itemRouter.get(Paths.Items.One, async (req, res) => res.json(await ItemService.one()));
itemRouter.delete('/:itemId', async (req, res) => res.sendStatus(204));
export default itemRouter;
""",
    "src/app.ts": """
import express from 'express';
import itemRouter from './routes/items';
import Paths from './constants/Paths';
const app = express();
app.use(Paths.Base, itemRouter);
app.use(Paths.Base + '/x', itemRouter);  // an expression: not followed
app.use('/api/items', itemRouter);
""",
    "src/services/ItemService.ts": "export async function one() { return {}; }\n",
}

NEST = {
    "src/gadgets/gadgets.controller.ts": """
@Controller({ path: 'gadgets', version: '1' })
export class GadgetsController {
  @Get(':id')
  findOne() {}
  @Post()
  create() {}
}
""",
    "src/main.ts": "app.setGlobalPrefix(configService.get('prefix'));\n",
}

DJANGO = {
    "desk/urls.py": """
from django.urls import include, path
from desk import views
urlpatterns = [
    path("tickets/<int:ticket_id>/", views.ticket, name="ticket"),
    path("kb/", include([path("<slug:slug>/", views.kb, name="kb")])),
]
""",
    "desk/views.py": "def ticket(request, ticket_id): ...\ndef kb(request, slug): ...\n",
    "desk/models.py": """
from django.db import models
class Ticket(models.Model):
    title = models.CharField(max_length=200)
""",
}

REACT = {
    "web/App.tsx": """
import { Route } from 'react-router-dom';
import { SettingsPage } from './pages/SettingsPage';
export const App = () => (<Routes><Route path="/settings" element={<SettingsPage />} /></Routes>);
""",
    "web/pages/SettingsPage.tsx": """
export function SettingsPage() {
  return <section><h2>Notification settings</h2><Button label="Save changes" /></section>;
}
""",
    "web/locales/en/common.json": '{"actions": {"archive": "Archive forever"}}',
    "web/locales/de/common.json": '{"actions": {"archive": "Für immer archivieren"}}',
    "web/prisma/schema.prisma": 'model Invoice {\n  id Int @id\n  @@map("invoices")\n}\n',
}


def _linked(files: dict[str, str]) -> tuple[set[tuple[str, str, bool]], set[tuple[str, str, str]]]:
    facts = {}
    for path, text in files.items():
        lang = {"py": "python", "ts": "typescript", "tsx": "typescript"}.get(
            path.rsplit(".", 1)[-1])
        facts[path] = from_json(to_json(extract_structure(path, text, lang)))  # round trip
    linked = link(facts, {"SettingsPage": ["web/pages/SettingsPage.tsx"]})
    return {(r.method, r.route, r.resolved) for r in linked.routes}, linked.edges


# -- structure and link ------------------------------------------------------------------------


def test_flask_blueprint_prefix_from_a_config_key_and_helper_routes() -> None:
    routes, edges = _linked(FLASK)
    assert ("ANY", "/orders/{order_id}/refund", True) in routes
    assert ("GET", "/orders/{order_id}", True) in routes
    assert ("shop/orders/views.py", "shop/templates/orders/detail.html", "renders") in edges
    assert ("shop/templates/orders/detail.html", "shop/templates/layout.html",
            "renders") in edges


def test_fastapi_router_prefix_include_and_mount_across_files() -> None:
    routes, edges = _linked(FASTAPI)
    assert ("GET", "/admin/v2/users/{user_id}", True) in routes
    assert ("svc/api.py", "svc/routers/users.py", "mounts") in edges
    assert ("svc/main.py", "svc/api.py", "mounts") in edges


def test_express_routes_through_constants_default_exports_and_use() -> None:
    routes, edges = _linked(EXPRESS)
    assert ("GET", "/api/{itemId}", True) in routes  # Paths.Base + Paths.Items.One
    assert ("GET", "/api/items/{itemId}", True) in routes
    assert ("DELETE", "/api/items/{itemId}", True) in routes
    assert not any("/x/" in r for _, r, _ in routes)
    assert ("src/app.ts", "src/routes/items.ts", "import") in edges
    assert ("src/routes/items.ts", "src/services/ItemService.ts", "import") in edges


def test_nest_controller_routes_sit_under_an_unresolved_prefix() -> None:
    routes, _ = _linked(NEST)
    assert ("GET", "/gadgets/{id}", False) in routes
    assert ("GET", "/v1/gadgets/{id}", False) in routes
    assert ("POST", "/v1/gadgets", False) in routes


def test_django_urlpatterns_with_nested_include_and_handler_edges() -> None:
    routes, edges = _linked(DJANGO)
    assert ("ANY", "/tickets/{ticket_id}", False) in routes
    assert ("ANY", "/kb/{slug}", False) in routes
    assert ("desk/urls.py", "desk/views.py", "routes") in edges


def test_a_render_edge_names_the_views_that_render() -> None:
    text = ("from flask import render_template\n"
            "def member_list():\n    return render_template('forum/members.html')\n"
            "def topic_detail():\n    return render_template('forum/topic.html')\n"
            "class BarnUpdateView(UpdateView):\n    template_name = 'forum/barn.html'\n"
            "    def get_context_data(self, **kw):\n"
            "        return render_to_string('forum/topic.html')\n")
    facts = from_json(to_json(extract_structure("forum/views.py", text, "python")))
    assert facts.render_scopes == {"forum/members.html": "member_list",
                                   "forum/topic.html": "topic_detail BarnUpdateView",
                                   "forum/barn.html": "BarnUpdateView"}
    linked = link({"forum/views.py": facts, "forum/templates/forum/topic.html": from_json("{}")},
                  {})
    assert linked.via == {("forum/views.py", "forum/templates/forum/topic.html"):
                          "topic_detail BarnUpdateView"}


def test_a_flask_table_of_paths_and_resource_classes_declares_routes() -> None:
    routes, edges = _linked({
        "kitsu/tasks/__init__.py": (
            "from flask import Blueprint\n"
            "from kitsu.tasks.resources import AddTimeResource, TaskResource\n"
            "routes = [\n"
            "    ('/data/tasks/<task_id>', TaskResource),\n"
            "    ('/actions/tasks/<task_id>/time/<date>/add', AddTimeResource),\n"
            "]\n"
            "menu = [('/admin', 'Admin'), ('/help', help_page)]\n"
            "blueprint = Blueprint('tasks', 'tasks')\n"),
        "kitsu/tasks/resources.py": "class TaskResource:\n    pass\n"
                                    "class AddTimeResource:\n    pass\n",
    })
    assert {r for r in routes if r[0] == "ANY"} >= {
        ("ANY", "/data/tasks/{task_id}", True),
        ("ANY", "/actions/tasks/{task_id}/time/{date}/add", True)}
    assert not any(r[1] in ("/admin", "/help") for r in routes)
    assert ("kitsu/tasks/__init__.py", "kitsu/tasks/resources.py", "routes") in edges


def test_django_paths_added_to_side_lists_by_helpers_are_routes() -> None:
    routes, edges = _linked({
        "maps/urls.py": (
            "from django.urls import include, path\n"
            "from django.conf.urls.i18n import i18n_patterns\n"
            "from maps import views\n"
            "from maps.utils import decorated_patterns\n"
            "list_patterns = [path('members/<role>/', views.members)]\n"
            "urlpatterns = [path('ajax-proxy/', views.proxy),\n"
            "               path('lists/<list_id>/', include(list_patterns))]\n"
            "i18n_urls = []\n"
            "i18n_urls += decorated_patterns([login_required],\n"
            "    path('me/download', views.user_download, name='user_download'))\n"
            "i18n_urls.append(path('me/profile', views.user_profile))\n"
            "urlpatterns += i18n_patterns(path('', include(i18n_urls)),\n"
            "                             path('search/', views.search))\n"),
        "maps/views.py": "def user_download(request):\n    pass\n",
    })
    assert {("ANY", "/me/download", False), ("ANY", "/me/profile", False),
            ("ANY", "/search", False), ("ANY", "/ajax-proxy", False),
            ("ANY", "/lists/{list_id}/members/{role}", False)} <= routes
    assert not any(r[1] == "/members/{role}" for r in routes)  # read once, under its prefix
    assert ("maps/urls.py", "maps/views.py", "routes") in edges


def test_a_long_run_of_word_characters_is_read_once() -> None:
    # an inlined base64 image in a bundle: every pattern that opens on a name starts only
    # where a name starts (from inside the run, each position scanned the rest of it)
    blob = "A" * 30_000
    text = (f"const logo = 'data:image/png;base64,{blob}';\n"
            "const router = express.Router();\nrouter.get('/logo', send);\n")
    facts = extract_structure("web/logo.js", text, "javascript")
    assert [(r.method, r.path, r.owner) for r in facts.routes] == [("GET", "/logo", "router")]


def test_view_names_are_merged_once_each() -> None:
    assert add_names("", "topic_detail") == "topic_detail"
    assert add_names("topic_detail", "BarnUpdateView topic_detail BarnUpdateView") == \
        "topic_detail BarnUpdateView"


def test_react_route_renders_its_component() -> None:
    routes, edges = _linked(REACT)
    assert ("PAGE", "/settings", True) in routes
    assert ("web/App.tsx", "web/pages/SettingsPage.tsx", "renders") in edges


def test_a_page_renders_its_own_scripts_and_style_sheets() -> None:
    _, edges = _linked({
        "shop/templates/cart.html": """{% extends "base.html" %}
<link rel="stylesheet" href="{{ url_for('static', filename='css/cart.css') }}">
<script src="{{ url_for('static', filename='js/cart.js') }}"></script>
<script src="/static/js/vendor/jquery.min.js"></script>
""",
        "desk/templates/desk/board.html": "{% load static %}<script src=\"{% static "
                                          "'desk/board.js' %}\"></script>",
        "shop/templates/base.html": "<html></html>",
        "shop/static/css/cart.css": "body {}",
        "shop/static/js/cart.js": "export const total = 1;",
        "shop/static/js/vendor/jquery.min.js": "",
        "desk/static/desk/board.js": "export const x = 1;",
    })
    assert ("shop/templates/cart.html", "shop/static/js/cart.js", "renders") in edges
    assert ("shop/templates/cart.html", "shop/static/css/cart.css", "renders") in edges
    assert ("desk/templates/desk/board.html", "desk/static/desk/board.js", "renders") in edges
    assert not [e for e in edges if "jquery" in e[1]]  # a library, not the page's own


def test_models_of_each_framework() -> None:
    def models(path: str, text: str, lang: str | None) -> set[tuple[str, str]]:
        return {(m.name, m.table) for m in extract_structure(path, text, lang).models}

    assert models("shop/models.py", FLASK["shop/models.py"], "python") == {
        ("OrderLine", "order_lines")}
    assert ("Ticket", "") in models("desk/models.py", DJANGO["desk/models.py"], "python")
    assert models("schema.prisma", REACT["web/prisma/schema.prisma"], None) == {
        ("Invoice", "invoices")}
    ts = ("@Entity('payments')\nexport class Payment {}\n"
          "export const tags = pgTable('tags', { id: serial('id') });\n")
    assert models("src/entities.ts", ts, "typescript") == {("Payment", "payments"),
                                                          ("tags", "tags")}


def test_ui_text_of_templates_jsx_and_catalogues() -> None:
    shown = template_text(FLASK["shop/templates/orders/detail.html"])
    assert {"Order details", "Refund this order", "Refund", "Shipped on"} <= set(shown)
    assert {"Notification settings", "Save changes"} <= set(
        jsx_text(REACT["web/pages/SettingsPage.tsx"]))
    assert is_catalogue("web/locales/en/common.json")
    assert not is_catalogue("web/locales/de/common.json")
    assert not is_catalogue("web/package.json")


def test_demotion_and_singulars() -> None:
    assert demotion("shop/orders/views.py") == 1.0
    for path in ("tests/test_views.py", "shop/migrations/0001_initial.py",
                 "shop/translations/de/LC_MESSAGES/messages.po", "package-lock.json",
                 "CHANGELOG.md", "src/app.spec.ts"):
        assert demotion(path) < 0.6, path
    assert [singular(w) for w in ("entries", "logs", "class", "status", "boxes")] == [
        "entry", "log", "class", "status", "box"]


# -- lookups and retrieval on the index ----------------------------------------------------------


def test_route_lookups_use_whole_paths_and_prefixes(index: LibsqlRepoIndex,
                                                    tmp_path: Path) -> None:
    repo = indexed(index, tmp_path, {**FASTAPI, **NEST})
    assert index.lookup(repo, "route", "GET /admin/v2/users/42").found
    assert index.lookup(repo, "route", "GET /admin/v2/users/{id}").found
    assert not index.lookup(repo, "route", "GET /v2/users/{id}").found  # wrong mount
    # a NestJS route under a global prefix the code does not show
    hit = index.lookup(repo, "route", "GET /api/v1/gadgets/7")
    assert hit.found and hit.files == ["src/gadgets/gadgets.controller.ts"]
    missing = index.lookup(repo, "route", "POST /admin/v2/users/{id}/deactivate")
    assert not missing.found and missing.closest == "GET /admin/v2/users/{user_id}"


def test_identifier_named_parameters_take_identifier_values(index: LibsqlRepoIndex,
                                                            tmp_path: Path) -> None:
    repo = indexed(index, tmp_path, {"app.py": """
from flask import Flask
app = Flask(__name__)
@app.get("/invoices/<int:invoice_id>")
def one(invoice_id): ...
@app.get("/status/<codes>")
def status(codes): ...
"""})
    assert index.lookup(repo, "route", "GET /invoices/42").found
    assert not index.lookup(repo, "route", "GET /invoices/export").found
    assert index.lookup(repo, "route", "GET /status/random").found


def test_ui_text_lookup(index: LibsqlRepoIndex, tmp_path: Path) -> None:
    repo = indexed(index, tmp_path, {**FLASK, **REACT})
    refund = index.lookup(repo, "ui_text", "refund this order")
    assert refund.found and refund.files == ["shop/templates/orders/detail.html"]
    assert index.lookup(repo, "ui_text", "Save changes").found
    assert index.lookup(repo, "ui_text", "Archive forever").files == [
        "web/locales/en/common.json"]
    assert not index.lookup(repo, "ui_text", "Refund all").found
    assert not index.lookup(repo, "ui_text", "Ship").found  # whole words only


def test_retrieval_follows_renders_and_names_entities(index: LibsqlRepoIndex,
                                                      tmp_path: Path) -> None:
    files = {**FLASK, "tests/test_orders.py": "def test_order_details_refund(): ...\n" * 5}
    repo = indexed(index, tmp_path, files)
    text = "Show the shipping date on the order details page next to the refund button."
    top = [h.path for h in retrieve(index, repo, text, text, limit=4)]
    assert top[0] == "shop/templates/orders/detail.html"
    assert "shop/orders/views.py" in top  # the view that renders it
    assert "tests/test_orders.py" not in top[:2]
    lines = "Order lines keep their price after a refund."
    assert "shop/models.py" in [h.path for h in retrieve(index, repo, lines, lines, limit=3)]


def test_mentions_are_whole_words(index: LibsqlRepoIndex, tmp_path: Path) -> None:
    repo = indexed(index, tmp_path, {"a.py": 'LIMITS = {"MAX_ROWS": 10}\n',
                                      "b.py": "MAX_ROWS_PER_PAGE = 5\n"})
    assert index.mentions(repo, "MAX_ROWS") == ["a.py"]
    assert index.mentions(repo, "MAX_COLS") == []
    # the first spelling inside a longer word ("read" in "thread") hides no later one
    repo = indexed(index, tmp_path / "second", {
        "c.py": "def on_thread(thread):\n    return thread.id\n\n\n"
                "async def load(file):\n    return await file.read()\n",
        "d.py": "thread_count = 1\n"})
    assert index.mentions(repo, "read") == ["c.py"]


def test_a_new_dependency_brings_the_manifest(index: LibsqlRepoIndex, tmp_path: Path) -> None:
    repo = indexed(index, tmp_path, {**FLASK, "pyproject.toml": '[project]\nname = "shop"\n',
                                      "docs/package.json": "{}"})
    text = "Render the order details page as PDF with the weasyprint library."
    top = [h.path for h in retrieve(index, repo, text, text, limit=5)]
    assert "pyproject.toml" in top and "docs/package.json" not in top


def test_quoted_keys_in_constant_objects() -> None:
    facts = extract_structure("src/paths.ts", "const P = { 'base': '/api', \"v\": { one: '/1' } };",
                              "typescript")
    assert facts.constants == {"P.base": "/api", "P.v.one": "/1"}


def test_a_file_whose_structure_cannot_be_read_does_not_fail_the_index(
        index: LibsqlRepoIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ticketflow.adapters.libsql import repo_structure

    real = repo_structure.extract_structure

    def flaky(path: str, text: str, language: str | None) -> StructureFacts:
        if path.endswith("views.py"):
            raise IndexError("no such group")
        return real(path, text, language)

    monkeypatch.setattr(repo_structure, "extract_structure", flaky)
    repo = indexed(index, tmp_path, FLASK)
    assert index.lookup(repo, "file", "shop/orders/views.py").found  # still indexed
    assert index.lookup(repo, "ui_text", "Refund this order").found  # the rest is read


def test_an_import_clause_never_runs_across_statements() -> None:
    # a generated declaration file: re-exports between thousands of ``export`` lines
    text = ("export { colors };\nexport * from './styles';\n"
            "export interface Color {\n  50: string;\n}\n"
            "import {\n  a, // the a\n  b as c,\n} from './ab';\n"
            "export class Config extends Base {\n  update(o: Options): void;\n}\n"
            "export { Base } from './base';\n")
    facts = extract_structure("index.d.ts", text, "typescript")
    assert [(i.spec, i.names) for i in facts.imports] == [
        ("./styles", (("*", "*"),)),
        ("./ab", (("a", "a"), ("c", "b"))),
        ("./base", (("Base", "Base"),)),
    ]

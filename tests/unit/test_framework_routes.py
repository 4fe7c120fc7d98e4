"""Routes, mounts and models of more frameworks' shapes (Flask-RESTful and Flask-RESTX,
FastAPI router tables, NestJS behind comments, Next.js file routes, resourcejs), and the
request wording that names them, on small repositories written here."""

from __future__ import annotations

from pathlib import Path

from tests.support import indexed

from ticketflow.adapters.libsql.repo_index import LibsqlRepoIndex
from ticketflow.domain import Severity
from ticketflow.preflight import extract_references, validate_request
from ticketflow.repo_index.extract import extract, normalize_path
from ticketflow.repo_index.link import link
from ticketflow.repo_index.paths import demotion
from ticketflow.repo_index.structure import extract_structure, from_json, to_json

RESTFUL = {
    "garden/api.py": """
from flask import Blueprint
from flask_restful import Api
from garden.handlers import PlotHandler, HarvestHandler
api = Blueprint("api", __name__, url_prefix="/api")
rest = Api(api, prefix="/v1")
rest.add_resource(PlotHandler, "/plots/<int:plot_id>")
rest.add_resource(HarvestHandler, "/plots/<int:plot_id>/harvests", "/harvests")
""",
    "garden/handlers.py": "class PlotHandler: ...\nclass HarvestHandler: ...\n",
    "garden/run.py": """
from flask import Flask
from garden.api import api as api_v1
app = Flask(__name__)
app.register_blueprint(api_v1)
""",
    "garden/restx.py": """
from flask import Flask
from flask_restx import Api, Namespace, Resource
app = Flask(__name__)
api = Api(app)
seeds = Namespace("seeds")
@seeds.route("/<int:seed_id>")
class Seed(Resource):
    def get(self, seed_id): ...
api.add_namespace(seeds)
""",
}

ROUTER_TABLE = {
    "farm/routes/barns.py": """
from fastapi import APIRouter
router = APIRouter()
@router.get("")
async def all_barns(): ...
""",
    "farm/routes/silos.py": """
from fastapi import APIRouter
router = APIRouter()
@router.get("/{silo_id}")
async def one_silo(silo_id: int): ...
""",
    "farm/routes/__init__.py": "",
    "farm/__init__.py": "",
    "farm/app.py": """
from fastapi import APIRouter, FastAPI
from farm.routes import barns, silos
BASE = [{"router": barns.router, "prefix": "/barns", "tags": ["Barns"]}]
EVERY = BASE + [{"router": silos.router, "prefix": "/silos"}]
inner = APIRouter()
for spec in EVERY:
    inner.include_router(**spec)
app = FastAPI()
app.include_router(inner, prefix="/v3")
""",
}

NEST_COMMENTED = {
    "src/kennels/kennels.controller.ts": """
@ApiTags('Kennels')
@Controller('kennels') // TODO: rename
// @UseGuards(ThrottlerGuard)
export class KennelsController {
  @Post('bulk/import')
  importMany() {}
}
""",
    "src/kennels/kennel.entity.ts": """
@Entity('kennels') // the table
// soft-deleted rows stay
export class Kennel {}
""",
}

NEXT = {
    "src/pages/api/farms/[farmId]/yields.ts": "export default async function h(req, res) {}\n",
    "src/pages/api/farms/index.ts": "export default async function h(req, res) {}\n",
    "src/pages/_app.tsx": "import type { AppProps } from 'next/app';\n",
    "src/app/(main)/farms/[farmId]/page.tsx": "export default function Page() { return null; }\n",
    "src/app/api/barns/route.ts": "export async function GET() {}\nexport const POST = h;\n",
    "web/pages/Plain.tsx": "export function Plain() { return null; }\n",  # not Next.js
}

RESOURCEJS = {
    "src/resources/CowResource.js": """
const Resource = require('resourcejs');
module.exports = (router) => {
  const herd = new Resource(
    router,
    '/farm/:farmId',
    'cow',
    router.models.cow,
  ).rest({});
  return herd;
};
""",
}


def _routes(files: dict[str, str]) -> set[tuple[str, str, bool]]:
    facts = {}
    for path, text in files.items():
        lang = {"py": "python", "ts": "typescript", "tsx": "typescript",
                "js": "javascript"}.get(path.rsplit(".", 1)[-1])
        facts[path] = from_json(to_json(extract_structure(path, text, lang)))
    return {(r.method, r.route, r.resolved) for r in link(facts).routes}


# -- the index ----------------------------------------------------------------------------


def test_flask_restful_resources_sit_under_their_api_and_blueprint() -> None:
    routes = _routes(RESTFUL)
    assert ("ANY", "/api/v1/plots/{plot_id}", True) in routes
    assert ("ANY", "/api/v1/plots/{plot_id}/harvests", True) in routes
    assert ("ANY", "/api/v1/harvests", True) in routes
    assert ("ANY", "/seeds/{seed_id}", True) in routes  # a RESTX namespace's class route


def test_a_fastapi_router_table_is_mounted_by_the_loop_that_includes_it() -> None:
    routes = _routes(ROUTER_TABLE)
    assert ("GET", "/v3/barns", True) in routes
    assert ("GET", "/v3/silos/{silo_id}", True) in routes


def test_nest_controllers_and_entities_behind_comments() -> None:
    routes = _routes(NEST_COMMENTED)
    assert ("POST", "/kennels/bulk/import", False) in routes
    models = extract_structure("src/kennels/kennel.entity.ts",
                               NEST_COMMENTED["src/kennels/kennel.entity.ts"],
                               "typescript").models
    assert [(m.name, m.table) for m in models] == [("Kennel", "kennels")]


def test_next_js_files_are_routes() -> None:
    routes = _routes(NEXT)
    assert ("ANY", "/api/farms/{farmId}/yields", True) in routes
    assert ("ANY", "/api/farms", True) in routes
    assert ("PAGE", "/farms/{farmId}", True) in routes  # the route group is not in the URL
    assert {("GET", "/api/barns", True), ("POST", "/api/barns", True)} <= routes
    assert not [r for r in routes if "Plain" in r[1] or "_app" in r[1]]


def test_resourcejs_serves_the_rest_routes_of_a_model() -> None:
    routes = {(m, r) for m, r, _ in _routes(RESOURCEJS)}
    assert {("GET", "/farm/{farmId}/cow"), ("POST", "/farm/{farmId}/cow"),
            ("GET", "/farm/{farmId}/cow/{cowId}"), ("DELETE", "/farm/{farmId}/cow/{cowId}")
            } <= routes


def test_next_js_parameters_in_paths() -> None:
    assert normalize_path("/api/farms/[farmId]/yields") == "/api/farms/{farmId}/yields"
    assert normalize_path("/docs/[...slug]") == "/docs/{slug}"
    assert normalize_path("/docs/[[...slug]]") == "/docs/{slug?}"


def test_lookups_of_next_js_routes(index: LibsqlRepoIndex, tmp_path: Path) -> None:
    repo = indexed(index, tmp_path, NEXT)
    assert index.lookup(repo, "route", "GET /api/farms/[farmId]/yields").found
    assert index.lookup(repo, "route", "/api/farms/42/yields").found
    assert not index.lookup(repo, "route", "GET /api/farms/[farmId]/fences").found


# -- what a request names ------------------------------------------------------------------


def _refs(text: str) -> dict[tuple[str, str], bool]:
    return {(r.kind, r.name): r.creates for r in extract_references(text)}


def test_paths_and_routes_in_next_js_and_template_spellings() -> None:
    refs = _refs("The form in src/app/(main)/farms/[farmId]/FarmForm.tsx posts to "
                 "GET /api/farms/[farmId]/yields. The feed at /<farm_id>/feed/<token>.xml is "
                 "empty and mail/templates/welcome.de.j2 is never used.")
    assert ("file", "src/app/(main)/farms/[farmId]/FarmForm.tsx") in refs
    assert ("route", "GET /api/farms/[farmId]/yields") in refs
    assert ("route", "/<farm_id>/feed/<token>.xml") in refs
    assert ("file", "mail/templates/welcome.de.j2") in refs
    assert not [r for r in refs if r[1] in ("src/app", "mail/templates")
                or r[1].startswith("/farms/")]


def test_clicked_text_and_named_forms_are_labels() -> None:
    refs = _refs("Growers who click 'Export yields (PDF)' get a blank page. They move a plot "
                 "to a farm with the 'Move plot' form.")
    assert refs[("ui_text", "Export yields (PDF)")] is False
    assert refs[("ui_text", "Move plot")] is False  # a thing moved with it, not a new name
    assert _refs("Replace the icon with a 'Move plot' button.")[("ui_text", "Move plot")]
    assert _refs("Growers click 'https://farm.example/yields' in the mail.") == {}


def test_dotted_keys_beside_settings_words_are_settings() -> None:
    refs = _refs("Compare it with harvest.maxTons from the farm settings. Rates come from "
                 "api.rates.host, which the configuration names.")
    assert ("setting", "harvest.maxTons") in refs
    assert not [r for r in refs if "rates" in r[1]]


def test_words_set_to_a_value_config_files_and_prefixes_are_not_settings() -> None:
    refs = _refs("Read it from a new HERD_TIMEOUT setting defaulting to 5 seconds.")
    assert ("setting", "HERD_TIMEOUT") in refs
    assert not [r for r in refs if r[1] == "defaulting"]
    assert ("setting", "maxTons") in _refs("Setting maxTons to 40 changes nothing.")
    refs = _refs("The [herd] graze_minutes option in barnyard.conf is ignored.")
    assert not [r for r in refs if r[1] == "barnyard.conf"]
    refs = _refs("Read it next to the other FARM_CONFIG_* defaults; FARM_BARNS=3 is ignored.")
    assert ("setting", "FARM_BARNS") in refs
    assert not [r for r in refs if r[1].startswith("FARM_CONFIG")]
    # the parts of a file name's pattern
    assert _refs("Name it herd_YYYY-MM-DD_HHMMSS.csv and keep FARM_TTL.") == {
        ("setting", "FARM_TTL"): False}


# -- how sure ---------------------------------------------------------------------------------

FARM = {
    "farm/models/herd.py": "class HerdStore:\n    def count(self):\n        return 1\n",
    "farm/templates/base.html": "<html></html>",
}


def test_a_folder_that_exists_is_no_missing_file(index: LibsqlRepoIndex,
                                                 tmp_path: Path) -> None:
    repo = indexed(index, tmp_path, FARM)
    found = validate_request("A request", "Everything under farm/templates looks dated.",
                             repo=repo, index=index)
    assert [f for f in found if f.severity is Severity.CRITICAL] == []


def test_a_member_of_a_named_class_or_the_subject_of_what_code_does_is_code(
        index: LibsqlRepoIndex, tmp_path: Path) -> None:
    repo = indexed(index, tmp_path, FARM)

    def critical(text: str) -> list[str]:
        return [f.message for f in validate_request("A request", text, repo=repo, index=index)
                if f.severity is Severity.CRITICAL]

    assert any("countAllForFarm" in m for m in critical(
        "Totals are wrong because countAllForFarm in HerdStore skips calves."))
    assert any("recount_herd" in m for m in critical(
        "Totals drift, because recount_herd only rewrites the cached total."))
    # the same words with nothing saying they are code stay a warning
    assert critical("Totals are wrong because countAllForFarm skips calves.") == []


def test_route_paths_from_f_strings_of_constants_and_enum_members() -> None:
    routes = _routes({
        "app/models/endpoint.py": "from enum import Enum\n\n\nclass Endpoint(Enum):\n"
                                  "    healthz = 'healthz'\n    config = 'config'\n",
        "app/__init__.py": "from flask import Flask\napp = Flask(__name__)\n",
        "app/routes.py": """
from app import app
from app.models.endpoint import Endpoint
API = '/api/v2'

@app.route(f'/{Endpoint.healthz}', methods=['GET'])
def healthz():
    return ''

@app.route(f'/{Endpoint.config}', methods=['GET', 'PUT'])
def config():
    return ''

@app.route(f'{API}/items/{{item_id}}')
def item(item_id):
    return ''

@app.route(f'/x/{make()}')
def computed():
    return ''
""",
    })
    assert ("GET", "/healthz", True) in routes
    assert ("PUT", "/config", True) in routes
    assert ("GET", "/api/v2/items/{item_id}", True) in routes
    assert not any(r.startswith("/x") for _, r, _ in routes)  # a call: not a constant


def test_chained_calls_and_handlers_mounted_at_a_path_are_routes() -> None:
    routes = _routes({
        "server/metrics.js": "export const metricRoute = (req, res) => res.end('');\n",
        "server/url.js": """
import express from 'express';
export default () => {
  const router = express.Router();
  router.get('/meta', (req, res) => res.json({}));
  return router;
};
""",
        "server/app.js": """
import express from 'express';
import url from './url.js';
import { metricRoute } from './metrics.js';
const app = express();
app
  .disable('x-powered-by')
  .use(`${basePath}/metrics`, metricRoute)
  .get(`${basePath}/sw.js`, (req, res) => res.end(''))
  .post('/ssh/:user', client);
app.use('/url', url());
""",
    })
    assert ("ANY", "/metrics", False) in routes  # under a prefix known at run time
    assert ("GET", "/sw.js", False) in routes
    assert ("POST", "/ssh/{user}", False) in routes
    # the one router a factory module builds is what its mount mounts
    assert ("GET", "/url/meta", True) in routes and ("ANY", "/url", False) not in routes


def test_routes_chained_on_any_owner_and_a_module_required_in_its_mount() -> None:
    routes = _routes({
        "src/api/routes/keys.ts": "import { builderRoutes } from './groups'\n"
                                  "builderRoutes\n  .get('/api/keys', c.fetch)\n"
                                  "  .put('/api/keys/:key', c.update)\n",
        "lib/rest/index.js": "const express = require('express');\n"
                             "module.exports = function () {\n  const app = express();\n"
                             "  app.use('/apps', require('./routes/apps')());\n"
                             "  return app;\n};\n",
        "lib/rest/routes/apps.js": "const express = require('express');\n"
                                   "module.exports = function () {\n"
                                   "  const router = express.Router();\n"
                                   "  router.post('/', (req, res) => res.json({}));\n"
                                   "  return router;\n};\n",
    })
    assert ("PUT", "/api/keys/{key}", False) in routes
    assert ("POST", "/apps", True) in routes and ("ANY", "/apps", True) not in routes


def test_a_tornado_url_table_declares_routes() -> None:
    routes = _routes({
        "barn/urls.py": """
from tornado.web import StaticFileHandler, url
from .views import HerdView, CowView

handlers = [
    url(r"/herds", HerdView, name="herds"),
    url(r"/cow/(?P<tag>[^/]+)", CowView),
    (r"/api/herd/grow/(.+)", HerdView),
    (r"/login/?", HerdView),
    (r".*", HerdView),
]
""",
        "barn/views.py": "class HerdView:\n    pass\n\n\nclass CowView:\n    pass\n",
    })
    assert {("ANY", "/herds", True), ("ANY", "/cow/{tag}", True),
            ("ANY", "/api/herd/grow/{param}", True), ("ANY", "/login", True)} <= routes
    assert len(routes) == 4  # the catch-all is no route


SPELLED = {
    "server/menu.js": """
import express from 'express';
const PREFIX = '/api/v2/user-menu';
export const menu = (app) => app.get(PREFIX, (req, res) => res.json({}));
export const router = express.Router();
router.get('/api/v2/menu-items', (req, res) => res.json([]));
const DEFAULT_FILE = 'menu-defaults.json';
""",
    "web/src/pages/Logs.tsx": "export const load = () => fetch('/api/debug/entries?page=1');\n",
    "server/templates/player.html.j2": "<audio></audio>\n",
}


def test_routes_and_files_the_code_spells_out_exist(index: LibsqlRepoIndex,
                                                    tmp_path: Path) -> None:
    repo = indexed(index, tmp_path, SPELLED)

    def critical(text: str) -> list[str]:
        return [f.message for f in validate_request("A request", text, repo=repo, index=index)
                if f.severity is Severity.CRITICAL]

    # a route built from a constant, and one a front end calls on another code base
    assert critical("The user menu endpoint (/api/v2/user-menu) answers 404.") == []
    assert critical("Clearing logs with DELETE /api/debug/entries fails silently.") == []
    # a file the application reads at run time, and a page rendered from its template
    assert critical("Entries in menu-defaults.json are ignored.") == []
    assert critical("Make player.html load faster on phones.") == []
    # a path declared under another method: the method asked for is missing
    assert any("DELETE /api/v2/menu-items" in m for m in critical(
        "DELETE /api/v2/menu-items clears the menu but answers 500."))
    # what nothing spells out is still missing
    assert any("/api/v2/user-badges" in m for m in critical(
        "The user badges endpoint (/api/v2/user-badges) answers 404."))
    assert any("badge-defaults.json" in m for m in critical(
        "Entries in badge-defaults.json are ignored."))


# -- settings modules and catalogues ----------------------------------------------------------


def test_upper_case_names_of_settings_modules_and_config_classes_are_settings() -> None:
    def names(path: str, text: str) -> set[str]:
        return {s.name for s in extract(path, text).settings}

    assert names("farm/default_settings.py", "HERD_LIMIT = 30\nDEBUG = False\nlower = 1\n") \
        == {"HERD_LIMIT", "DEBUG"}
    assert names("farm/app.py", "class ProductionConfig(object):\n    BARN_TTL = 5\n"
                                "    def f(self):\n        LOCAL_NAME = 1\n") == {"BARN_TTL"}
    assert names("farm/views.py", "HERD_LIMIT = 30\n") == set()  # a constant, not a setting


def test_keys_of_script_configuration_objects_are_settings() -> None:
    def names(path: str, text: str) -> set[str]:
        return {s.name for s in extract(path, text).settings}

    module = ("const config = {\n  port: 8061,\n  // how long\n  CACHE_TTL: 24 * 60,\n"
              "  WHITELIST: { 'a.com': true },\n  retries: [1, 2],\n};\nexport default config;\n")
    assert names("config.js", module) == {"port", "CACHE_TTL", "WHITELIST", "retries"}
    assert names("src/barn.js", module) == set()  # an object of any other module
    env = ("import { z } from 'zod';\nexport const envSchema = z.object({\n"
           "  PORT: z.coerce.number().default(3000),\n  HERD_LIMIT: z.string().optional(),\n});\n")
    assert names("src/core/env.ts", env) == {"PORT", "HERD_LIMIT"}
    assert names("src/core/validation.ts", env) == {"PORT", "HERD_LIMIT"}  # a schema anywhere
    schema = ("export const configSchema = {\n  barnTitle: {\n    _type: Type.String,\n"
              "    _default: 'Barns',\n  },\n  milking: {\n    maxCows: { _type: Type.Number },\n"
              "  },\n};\n")
    assert names("src/config-schema.ts", schema) == {"barnTitle", "milking", "maxCows"}
    assert names("src/herd-view.ts", schema) == {"barnTitle", "maxCows"}
    assert names("src/app.config.tsx", module) == set()  # a component, not a module of settings


def test_catalogues_named_for_a_locale_are_translations() -> None:
    assert demotion("public/intl/messages/en-GB.json") < 0.6
    assert demotion("strings/pt_BR.yml") < 0.6
    assert demotion("web/app.json") == 1.0


def test_yaml_catalogues_in_english_hold_ui_text() -> None:
    def shown(path: str, text: str) -> list[str]:
        return extract_structure(path, text, "yaml").ui_text

    assert shown("config/locales/en.yml", "en:\n  barns:\n    title: Barn overview\n") == [
        "Barn overview"]
    assert shown("translations/messages.en.yaml", "barn.title: Barn board\n") == [
        "Barn board"]
    assert shown("config/locales/de.yml", "de:\n  title: Scheune\n") == []
    assert shown(".github/workflows/en.yml", "on: push\n") == []


def test_nest_mongoose_schemas_are_models() -> None:
    text = ("@Schema({ timestamps: true }) // stored\nexport class Calf {\n  @Prop() name: "
            "string;\n}\n")
    models = extract_structure("src/calves/calf.schema.ts", text, "typescript").models
    assert [(m.name, m.framework) for m in models] == [("Calf", "mongoose")]


FILE_ROUTES = {
    "src/routes/(app)/farms/[farmId]/+page.svelte": "<h1>Farm</h1>",
    "src/routes/api/farms/+server.ts": "export async function GET() {}\nexport const POST = h;\n",
    "src/routes/farms/+page.ts": "export const load = () => ({});\n",
    "server/api/barns/[id].get.ts": "export default defineEventHandler(() => 1)\n",
    "server/api/barns/index.ts": "export default defineEventHandler(() => 1)\n",
    "pages/barns/[id].vue": "<script setup>definePageMeta({})</script><template>x</template>",
    "src/pages/Plain.vue": "<template><div>Plain</div></template>",  # a Vue app's page
}


def test_sveltekit_and_nuxt_files_are_routes() -> None:
    facts = {}
    for path, text in FILE_ROUTES.items():
        lang = {"ts": "typescript", "svelte": "svelte", "vue": "vue"}[path.rsplit(".", 1)[1]]
        facts[path] = from_json(to_json(extract_structure(path, text, lang)))
    routes = {(r.method, r.route) for r in link(facts).routes}
    assert routes == {("PAGE", "/farms/{farmId}"), ("GET", "/api/farms"), ("POST", "/api/farms"),
                      ("GET", "/api/barns/{id}"), ("ANY", "/api/barns"),
                      ("PAGE", "/barns/{id}")}


def test_django_paths_written_with_keyword_arguments(index: LibsqlRepoIndex,
                                                     tmp_path: Path) -> None:
    repo = indexed(index, tmp_path, {
        "kennel/urls.py": """
from django.urls import path, re_path
from kennel.views import DogView, FeedView
app_name = "kennel"
urlpatterns = [
    path(route="dogs/<uuid:dog_id>/", view=DogView.as_view(), name="dog"),
    re_path(route=r"^feeds/(?P<feed_id>\\d+)/$", view=FeedView.as_view()),
]
""",
        "kennel/views.py": "class DogView: ...\nclass FeedView: ...\n",
    })
    assert index.lookup(repo, "route", "/dogs/<uuid:dog_id>/").found
    assert index.lookup(repo, "route", "/kennel/dogs/<uuid:dog_id>/").found  # mounted elsewhere
    assert index.lookup(repo, "route", "/feeds/{feed_id}/").found
    assert not index.lookup(repo, "route", "/cats/<uuid:dog_id>/").found


# -- fixed words against parameters, and parts of a path ------------------------------------

PARAMETERS = {
    "kiosk/app.py": """
from flask import Flask
app = Flask(__name__)
@app.route("/<string:owner>/<string:token>/<string:name>")
def any_of_three(owner, token, name): ...
@app.route("/<string:owner>/<string:token>/<string:item>.<string:ext>")
def a_file(owner, token, item, ext): ...
@app.route("/shelves/<int:shelf_id>/<string:tab>")
def shelf_tab(shelf_id, tab): ...
@app.route("/shelves/<int:shelf_id>/books/<string:slug>")
def book(shelf_id, slug): ...
@app.route("/shelves/<int:shelf_id>/feed/<string:token>.xml")
def feed(shelf_id, token): ...
""",
}


def test_a_fixed_word_is_not_found_through_parameters_alone(
        index: LibsqlRepoIndex, tmp_path: Path) -> None:
    repo = indexed(index, tmp_path, PARAMETERS)
    # three fixed words, all taken by parameters: any path of that length would "match"
    assert not index.lookup(repo, "route", "/feeds/daily/summary").found
    # a value of the shape of "{item}.{ext}" fits it; a plain word does not
    assert index.lookup(repo, "route", "/acme/abc123/report.csv").found
    # a path written with parameters names its other words as fixed segments
    assert not index.lookup(repo, "route", "/shelves/:shelf_id/archive").found
    assert index.lookup(repo, "route", "/shelves/:shelf_id/books/:slug").found
    # a segment of parameter and text written the same way is the same segment
    assert index.lookup(repo, "route", "/shelves/<shelf_id>/feed/<token>.xml").found
    assert not index.lookup(repo, "route", "/shelves/<shelf_id>/feed/<token>.json").found
    # concrete values still fill parameters when a fixed word is shared
    assert index.lookup(repo, "route", "/shelves/12/history").found
    assert index.lookup(repo, "route", "/shelves/12/books/dune").found


def test_a_path_written_without_its_leading_slash_is_the_end_of_a_route(
        index: LibsqlRepoIndex, tmp_path: Path) -> None:
    repo = indexed(index, tmp_path, PARAMETERS)
    assert index.lookup(repo, "route", "books/<slug>").found
    assert index.lookup(repo, "route", "shelves/12/history").found
    assert not index.lookup(repo, "route", "books/<slug>/reviews").found


def test_parts_of_routes_and_absolute_paths_are_named_as_routes() -> None:
    assert ("route", "crate/<crate_id>/label") in _refs(
        "The page (crate/<crate_id>/label) prints nothing.")
    assert ("route", "/-/tools/purge") in _refs("Admins start it from /-/tools/purge today.")
    assert ("route", "/admin/queues") in _refs("Operators watch /admin/queues all day.")
    # a quoted path is a value the request talks about (a list of prefixes, say)
    assert not [k for k in _refs("Listing '/status/' should also skip '/status/db/'.")
                if k[0] == "route"]
    # places on a file system, files and templated file names are no routes
    assert not [k for k in _refs("Logs land in /var/log/kiosk and /etc/kiosk/conf.") if
                k[0] == "route"]
    assert not [k for k in _refs("Generate src/{name}.ts per model.") if k[0] == "route"]


def test_a_django_url_module_included_as_an_imported_module_gets_its_prefix(
        index: LibsqlRepoIndex, tmp_path: Path) -> None:
    repo = indexed(index, tmp_path, {
        "depot/urls.py": """
from django.urls import include, re_path
import depot.crates.urls
urlpatterns = [re_path(r"^crates/", include(depot.crates.urls))]
""",
        "depot/crates/__init__.py": "",
        "depot/crates/urls.py": """
from django.urls import path
from . import views
urlpatterns = [
    path("", views.index, name="index"),
    path("<int:pk>/seal/", views.seal, name="seal"),
]
""",
        "depot/crates/views.py": "def index(request): ...\ndef seal(request, pk): ...\n",
    })
    assert index.lookup(repo, "route", "/crates/").found
    assert index.lookup(repo, "route", "/crates/7/seal/").found
    assert index.lookup(repo, "route", "/7/seal/").found  # on its own, as before
    assert not index.lookup(repo, "route", "/crates/7/open/").found


def test_a_catch_all_segment_and_an_ellipsis_in_the_request(index: LibsqlRepoIndex,
                                                           tmp_path: Path) -> None:
    repo = indexed(index, tmp_path, {
        "src/reports.controller.ts": (
            "import { Controller, Get, Put } from '@nestjs/common';\n"
            "@Controller('/reports')\nexport class ReportsController {\n"
            "  @Put('/*slug')\n  update() {}\n  @Get('/*slug')\n  get() {}\n}\n"),
    })
    for name in ("PUT /reports/acme/app/main", "GET /reports/{slug}", "PUT /reports/..."):
        assert index.lookup(repo, "route", name).found, name
    for name in ("PUT /reports", "DELETE /reports/{slug}", "PUT /records/..."):
        assert not index.lookup(repo, "route", name).found, name
    refs = {r.name for r in extract_references("Uploads to PUT /reports/... are accepted.")}
    assert refs == {"PUT /reports/..."}


# -- routes the index does not see declared, whose paths the code writes out -------------------

TABLES = {
    # a route table of objects, registered by a loop, mounted under a configured prefix
    "src/routes.ts": """
import express from "express"
import * as subscriptions from "./handlers/subscriptions"
const routes = [
  { method: "get", url: "/subscriptions/:datasetId", handler: subscriptions.list },
  { method: "post", url: "/keygen", handler: subscriptions.keygen },
]
const router = express.Router()
for (const route of routes) { router[route.method](route.url, route.handler) }
export default router
""",
    "src/config.ts": 'export default { apiPrefix: "/crn/" }\n',
    "src/app.ts": """
import routes from "./routes"
import config from "./config"
app.use(config.apiPrefix, routes)
""",
    "src/handlers/subscriptions.ts": "export function list() {}\nexport function keygen() {}\n",
    # a registration helper of a Flask API
    "tree/api/__init__.py": """
from flask import Blueprint
api_blueprint = Blueprint("api", __name__, url_prefix="/api")
def register_endpt(resource, url, name):
    api_blueprint.add_url_rule(url, view_func=resource.as_view(name))
register_endpt(TimelineResource, "/people/<string:handle>/timeline", "person-timeline")
""",
    "tree/api/resources.py": "class TimelineResource: ...\n",
    # a route the index reads, under a mount it follows, for one method only
    "src/plots.js": """
const express = require("express")
const router = express.Router()
router.get("/plots/:plotId", (req, res) => res.json({}))
module.exports = router
""",
    "src/server.js": """
const plots = require("./plots")
app.use("/farm", plots)
""",
    "tests/test_routes.py": 'URL = "/api/people/<string:handle>/badges"\n',
}


def test_a_route_whose_path_the_code_writes_out_is_a_warning_not_a_critical(
        index: LibsqlRepoIndex, tmp_path: Path) -> None:
    repo = indexed(index, tmp_path, TABLES)
    assert ("src/routes.ts", "/subscriptions/:datasetId") in index.path_literals(
        repo, "subscriptions")
    assert index.path_literals(repo, "badges") == []  # tests do not declare routes

    def findings(text: str) -> list[tuple[Severity, str]]:
        return [(f.severity, f.message) for f in validate_request(
            "A request", text, repo=repo, index=index) if f.kind.value == "missing_route"]

    # under the prefix the code names, parameters spelled another way
    for text in ("GET /crn/subscriptions/:datasetId answers 500.",
                 "GET /crn/subscriptions/{id} answers 500.",
                 "POST /crn/keygen answers 500.",
                 "The timeline (GET /api/people/<handle>/timeline) is empty."):
        found = findings(text)
        assert [s for s, _ in found] == [Severity.WARNING], (text, found)
        assert "writes its path as" in found[0][1]
    # a fixed word that differs, a prefix the code never names, a path only a test
    # writes, a bare word alone: still missing
    for text in ("GET /crn/subscriptions/:datasetId/owners answers 500.",
                 "GET /v9/subscriptions/:datasetId answers 500.",
                 "GET /api/people/<handle>/badges answers 500.",
                 "GET /keygen answers 500.",
                 # declared, and read by the index, for GET only: DELETE is what is missing
                 "DELETE /farm/plots/:plotId answers 500."):
        assert [s for s, _ in findings(text)] == [Severity.CRITICAL], text
    assert findings("GET /farm/plots/:plotId answers 500.") == []


def test_values_of_the_language_and_name_prefixes_are_not_looked_up(
        index: LibsqlRepoIndex, tmp_path: Path) -> None:
    repo = indexed(index, tmp_path, TABLES)
    text = ("The keygen handler must return `null` when no key is set, and read the "
            "`APP_` environment variables in `src/config.ts`.")
    assert [f.message for f in validate_request("A request", text, repo=repo, index=index)
            if f.severity is Severity.CRITICAL] == []


def test_a_name_seen_mostly_inside_longer_names_is_still_found_whole(
        index: LibsqlRepoIndex, tmp_path: Path) -> None:
    # twelve files with the word "key" and "Key" only inside longer names, read first
    files = {f"src/k{i}.ts": f"export const KeyThing{i} = {i}  // the key\n"
             for i in range(12)}
    files["src/z.ts"] = 'const Key = model("Key", schema)\n'
    repo = indexed(index, tmp_path, files)
    assert index.mentions(repo, "Key", limit=1) == ["src/z.ts"]

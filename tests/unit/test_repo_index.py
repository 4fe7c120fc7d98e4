"""The repository index: walker, extraction, and the libSQL store (FTS5 included) on a
file through both drivers and on a libSQL server (sqld): the ``libsql_db`` fixture."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ticketflow.adapters.libsql import repo_index as store_module
from ticketflow.adapters.libsql.database import Database
from ticketflow.adapters.libsql.repo_index import IndexNotReadyError, LibsqlRepoIndex, fts_query
from ticketflow.ports import RepoIndex
from ticketflow.repo_index.extract import extract, normalize_path, route_key, split_words
from ticketflow.repo_index.walker import readable, walk

SAMPLE_REPO = Path(__file__).resolve().parents[2] / "examples" / "sample-repo"

FILES: dict[str, str] = {
    "app/server.py": '''"""Flask app."""
import os
from flask import Blueprint, Flask

app = Flask(__name__)
bp = Blueprint("orders", __name__, url_prefix="/api/orders")
SECRET = os.environ["APP_SECRET"]
DEBUG = os.environ.get("APP_DEBUG", "0")
REGION = os.getenv("AWS_REGION")


@app.route("/health")
def health():
    """Liveness probe."""
    return "ok"


@app.route("/login", methods=["GET", "POST"])
def login():
    return "login"


@bp.get("/<int:order_id>")
def get_order(order_id):
    """Fetch one order."""
    return {}


class OrderExporter:
    """Exports orders."""

    def to_rows(self):
        return []

    async def flush(self):
        pass
''',
    "app/fast.py": """from fastapi import APIRouter, FastAPI
from pydantic_settings import BaseSettings

app = FastAPI()
router = APIRouter(prefix="/v2")


class Settings(BaseSettings):
    database_url: str = "sqlite://"
    smtp_host: str = "localhost"


@app.get("/items/{item_id}")
async def read_item(item_id: int):
    return {}


@router.post("/payments")
def create_payment():
    return {}
""",
    "server/routes.js": """const express = require('express');
const router = express.Router();
const app = express();
const port = process.env.PORT || 3000;

router.get('/users/:userId', (req, res) => res.json({}));
app.post("/webhooks/stripe", handleStripe);
app.delete(`/sessions/:id`, (req, res) => res.end());

function handleStripe(req, res) { res.end(); }
module.exports = router;
""",
    "web/src/components/ShoppingCart.tsx": """import { useState } from "react";

const API = import.meta.env.VITE_API_URL;

export interface CartLine { sku: string; qty: number }

export default function ShoppingCart() {
  const [lines] = useState<CartLine[]>([]);
  return <ul>{lines.map((l) => <li key={l.sku}>{l.qty}</li>)}</ul>;
}

export const CartBadge = ({ count }: { count: number }) => <span>{count}</span>;

export const cartTotal = (lines: CartLine[]): number =>
  lines.reduce((n, l) => n + l.qty, 0);

export const MAX_LINES = 50;

// axios-style client calls are not server routes
client.get('/api/cart', { params: {} });
""",
    "web/src/cartStore.ts": """export class CartStore {
  private lines: string[] = [];

  addLine(sku: string): void {
    if (sku) {
      this.lines.push(sku);
    }
  }

  async checkout(token: string): Promise<boolean> {
    return Boolean(token);
  }
}

export async function loadCart(id: string) {
  return fetch(`/api/cart/${id}`);
}
""",
    "docs/openapi.yaml": """openapi: 3.0.0
info: {title: Shop, version: "1"}
paths:
  /api/orders/{orderId}:
    get:
      summary: Get an order
  /api/orders:
    post:
      operationId: createOrder
""",
    "spec/api.json": '{"swagger": "2.0", "basePath": "/legacy", '
    '"paths": {"/refunds": {"put": {"summary": "Issue a refund"}}}}',
    ".env.example": "PORT=3000\nexport STRIPE_KEY=sk_test\n# comment\nVITE_API_URL=http://x\n",
    "README.md": "# Shop\n\nA shop with orders, a shopping cart and payments.\n",
    "node_modules/leftpad/index.js": "module.exports = function leftpad() {};\n",
}


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "shop"
    for rel, text in FILES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (root / "assets").mkdir()
    (root / "assets" / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0IHDR" + bytes(64))
    (root / "big.txt").write_text("x" * 1_100_000)
    (root / ".gitignore").write_text("*.log\n")
    (root / "debug.log").write_text("ignored by git\n")
    if shutil.which("git"):
        _git(root, "init", "-q")
        _git(root, "add", "-A")
    return root


@pytest.fixture
def db(libsql_db: Database) -> Database:
    return libsql_db


@pytest.fixture
def index(db: Database) -> LibsqlRepoIndex:
    return LibsqlRepoIndex(db)


# -- walker ----------------------------------------------------------------------------------


def test_walker_skips_vendored_binary_large_and_ignored(repo: Path) -> None:
    paths = {f.path for f in walk(repo)}
    assert "app/server.py" in paths
    assert "web/src/components/ShoppingCart.tsx" in paths
    assert not any(p.startswith("node_modules/") for p in paths)
    assert "assets/logo.png" not in paths
    assert "big.txt" not in paths
    if shutil.which("git"):
        assert "debug.log" not in paths


def test_walker_without_git(tmp_path: Path) -> None:
    root = tmp_path / "plain"
    (root / "src").mkdir(parents=True)
    (root / "src" / "a.py").write_text("x = 1\n")
    (root / ".venv" / "lib").mkdir(parents=True)
    (root / ".venv" / "lib" / "b.py").write_text("y = 2\n")
    (root / "__pycache__").mkdir()
    (root / "__pycache__" / "a.pyc").write_bytes(b"\0\0")
    assert [f.path for f in walk(root)] == ["src/a.py"]


def test_build_output_is_indexed_only_when_it_is_the_packages_only_code(tmp_path: Path) -> None:
    def tree(root: Path, files: dict[str, str]) -> list[str]:
        for rel, text in files.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(text)
        return sorted(f.path for f in walk(root))

    # compiled only: the build output is all the code there is
    shipped = tree(tmp_path / "shipped", {
        "package.json": "{}", "tools/fix-perms.js": "x()\n",
        "dist/kennel/kennel.service.js": "export class KennelService {}\n",
        "dist/kennel/kennel.service.d.ts": "export declare class KennelService {}\n",
        "dist/kennel/kennel.service.js.map": "{}", "dist/vendor.min.js": "v()\n",
        "dist/node_modules/dep/index.js": "d()\n"})
    assert shipped == ["dist/kennel/kennel.service.d.ts", "dist/kennel/kennel.service.js",
                       "package.json", "tools/fix-perms.js"]
    # the source is there (TypeScript, or a module of the same name): output left out
    assert tree(tmp_path / "typed", {"src/kennel.ts": "export class K {}\n",
                                     "dist/bundle.js": "b()\n"}) == ["src/kennel.ts"]
    # the TypeScript of an example or a test beside the output is not its source
    assert tree(tmp_path / "aside", {
        "examples/plugin/assembly/index.ts": "e()\n", "test/kennel.test.ts": "t()\n",
        "dist/kennel.js": "k()\n", "docs/dist/assets/search.js": "s()\n"}
                ) == ["dist/kennel.js", "examples/plugin/assembly/index.ts", "test/kennel.test.ts"]
    assert tree(tmp_path / "plain", {"lib/kennel.js": "k()\n", "build/kennel.js": "k()\n",
                                     "build/lib/kennel.py": "k = 1\n"}) == ["lib/kennel.js"]
    # a launcher at the top is not the source of the output it starts
    assert tree(tmp_path / "launcher", {
        "index.js": "require('./dist/server')\n", "dist/server/index.js": "s()\n",
        "dist/server/server.js": "s()\n"}) == ["dist/server/index.js",
                                              "dist/server/server.js", "index.js"]
    assert tree(tmp_path / "main", {
        "index.js": "module.exports = require('./dist')\n", "dist/index.js": "s()\n"}
                ) == ["dist/index.js", "index.js"]
    assert tree(tmp_path / "nested", {"src/api/users.js": "u()\n", "dist/api/users.js": "u()\n"}
                ) == ["src/api/users.js"]
    # a monorepo: each package decides for itself
    assert tree(tmp_path / "mono", {
        "packages/api/src/main.ts": "m()\n", "packages/api/dist/main.js": "m()\n",
        "packages/cli/dist/run.js": "r()\n"}) == ["packages/api/src/main.ts",
                                                   "packages/cli/dist/run.js"]


def test_build_output_is_bounded() -> None:
    from ticketflow.repo_index.walker import BuildOutput

    build = BuildOutput(max_files=2)
    for rel in ("dist/a.css", "dist/b.js", "dist/c.d.ts", "dist/d.js", "README.md"):
        build.offer(rel)
    assert build.released() == ["dist/b.js", "dist/c.d.ts"]


def test_walker_is_lazy(repo: Path) -> None:
    it = walk(repo)
    assert isinstance(it, Iterator)
    first = next(it)
    assert first.size > 0


# -- extraction ------------------------------------------------------------------------------


def _names(items: list[Any]) -> set[str]:
    return {str(i) if hasattr(i, "method") else i.name for i in items}


def test_extract_python_flask() -> None:
    facts = extract("app/server.py", FILES["app/server.py"])
    assert facts.language == "python"
    symbols = _names(facts.symbols)
    assert {"health", "login", "get_order", "OrderExporter"} <= symbols
    assert {"OrderExporter.to_rows", "to_rows", "OrderExporter.flush"} <= symbols
    routes = _names(facts.routes)
    assert routes == {
        "GET /health",
        "GET /login",
        "POST /login",
        "GET /api/orders/{order_id}",
    }
    assert next(r for r in facts.routes if r.path == "/health").summary == "Liveness probe."
    assert _names(facts.settings) == {"APP_SECRET", "APP_DEBUG", "AWS_REGION"}


def test_extract_python_fastapi_and_settings() -> None:
    facts = extract("app/fast.py", FILES["app/fast.py"])
    assert _names(facts.routes) == {"GET /items/{item_id}", "POST /v2/payments"}
    assert {"database_url", "DATABASE_URL", "SMTP_HOST"} <= _names(facts.settings)


def test_extract_traitlets_options_by_name_and_by_config_key() -> None:
    text = ("from traitlets import Integer, List, Unicode\n"
            "from traitlets.config import LoggingConfigurable\n\n"
            "class Builder(LoggingConfigurable):\n"
            "    keep_last = Integer(3, help='builds kept').tag(config=True)\n"
            "    kinds: List = List([]).tag(config=True)\n"
            "    label = Unicode('x').tag(sync=True)\n"
            "    limit = Integer(1)\n")
    facts = extract("app/builder.py", text)
    assert _names(facts.settings) == {"keep_last", "Builder.keep_last", "kinds",
                                      "Builder.kinds"}


def test_extract_express() -> None:
    facts = extract("server/routes.js", FILES["server/routes.js"])
    assert facts.language == "javascript"
    assert _names(facts.routes) == {
        "GET /users/{userId}",
        "POST /webhooks/stripe",
        "DELETE /sessions/{id}",
    }
    assert "handleStripe" in _names(facts.symbols)
    assert _names(facts.settings) == {"PORT"}


def test_extract_typescript() -> None:
    facts = extract(
        "web/src/components/ShoppingCart.tsx", FILES["web/src/components/ShoppingCart.tsx"]
    )
    kinds = {s.name: s.kind for s in facts.symbols}
    assert kinds["ShoppingCart"] == "component"
    assert kinds["CartBadge"] == "component"
    assert kinds["cartTotal"] == "function"
    assert kinds["MAX_LINES"] == "const"
    assert kinds["CartLine"] == "type"
    assert facts.routes == []  # client calls in components are not routes
    assert _names(facts.settings) == {"VITE_API_URL"}

    store = extract("web/src/cartStore.ts", FILES["web/src/cartStore.ts"])
    names = _names(store.symbols)
    assert {"CartStore", "CartStore.addLine", "addLine", "CartStore.checkout", "loadCart"} <= names
    assert "if" not in names
    assert "push" not in names


def test_extract_openapi_and_env() -> None:
    yaml_facts = extract("docs/openapi.yaml", FILES["docs/openapi.yaml"])
    assert {(str(r), r.summary) for r in yaml_facts.routes} == {
        ("GET /api/orders/{orderId}", "Get an order"),
        ("POST /api/orders", "createOrder"),
    }
    json_facts = extract("spec/api.json", FILES["spec/api.json"])
    assert _names(json_facts.routes) == {"PUT /legacy/refunds"}
    assert extract("package.json", '{"name": "x"}').routes == []
    assert extract("broken.yaml", "openapi: [unclosed").routes == []
    env = extract(".env.example", FILES[".env.example"])
    assert env.language == "dotenv"
    assert _names(env.settings) == {"PORT", "STRIPE_KEY", "VITE_API_URL"}


def test_extract_survives_syntax_errors() -> None:
    facts = extract("bad.py", "def ok():\n    pass\nclass Broken(:\n x = os.getenv('X_VAR')\n")
    assert {"ok", "Broken"} <= _names(facts.symbols)
    assert _names(facts.settings) == {"X_VAR"}


def test_route_params_normalise() -> None:
    assert normalize_path("/a/<int:id>/b/") == "/a/{id}/b"
    assert normalize_path("a/:id") == "/a/{id}"
    assert route_key("/a/{id}") == route_key("/a/:x") == route_key("/a/<y>") == "/a/{}"
    assert split_words("web/src/InvoiceList.tsx") == ["web", "src", "Invoice", "List", "tsx"]


@pytest.mark.parametrize(
    "query", ['"', "a AND OR NOT", "foo* (bar", "c++ && || ;--", "NEAR(x y)", "col:val", "^^^"]
)
def test_fts_query_is_quoted(query: str) -> None:
    built = fts_query(query.lower().split())
    for part in filter(None, built.split(" OR ")):
        assert part.startswith('"') and part.rstrip("*").endswith('"')


# -- store -----------------------------------------------------------------------------------


def test_is_a_repo_index(index: LibsqlRepoIndex) -> None:
    port: RepoIndex = index
    assert port.status("/no/such/repo").state == "none"


def test_not_ready_raises(index: LibsqlRepoIndex, repo: Path) -> None:
    with pytest.raises(IndexNotReadyError, match="'none'"):
        index.search(str(repo), "orders")
    index.mark(str(repo), "indexing")
    with pytest.raises(IndexNotReadyError, match="'indexing'"):
        index.search(str(repo), "orders")
    with pytest.raises(IndexNotReadyError):
        index.lookup(str(repo), "file", "README.md")


def test_index_and_query(index: LibsqlRepoIndex, repo: Path) -> None:
    status = index.index(str(repo))
    assert status.state == "ready", status.error
    assert status.files_total == status.files_done > 5
    assert status.updated_at is not None
    # keyed by resolved path: a relative spelling reaches the same index
    assert index.status(str(repo / "app" / "..")).state == "ready"

    assert index.path_exists(str(repo), "app/server.py")
    assert index.path_exists(str(repo), "./web/src")
    assert not index.path_exists(str(repo), "node_modules/leftpad/index.js")
    assert not index.path_exists(str(repo), "assets/logo.png")
    assert not index.path_exists(str(repo), "app/serv")

    endpoints = {(e.method, e.path, e.source) for e in index.endpoints(str(repo))}
    assert ("GET", "/api/orders/{order_id}", "app/server.py") in endpoints
    assert ("GET", "/api/orders/{orderId}", "docs/openapi.yaml") in endpoints
    assert ("POST", "/webhooks/stripe", "server/routes.js") in endpoints
    assert ("PUT", "/legacy/refunds", "spec/api.json") in endpoints


def test_a_minified_bundle_whatever_its_name_is_not_indexed(index: LibsqlRepoIndex,
                                                              tmp_path: Path) -> None:
    bundle = "var zebraCount=function(e){return e+1};" * 2000  # one line of 80 KB
    root = tmp_path / "site"
    for rel, text in {"assets/lib-CCz2mjm8.js": bundle,
                      "assets/app.css": ".quokkaPanel{b:c}" * 800,
                      "src/app.js": "export function add(a, b) {\n  return a + b;\n}\n" * 200,
                      "data/points.json": "[" + "1," * 5000 + "1]"}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    status = index.index(str(root))
    assert status.state == "ready"
    assert index.mentions(str(root), "add") == ["src/app.js"]
    assert index.mentions(str(root), "zebraCount") == []  # listed, never read
    assert index.mentions(str(root), "quokkaPanel") == []
    assert index.search(str(root), "points", limit=5)  # data, not a bundle
    # the same rule for a fetched tree's blobs (the index builder of deployed indexing)
    assert not readable("assets/lib-CCz2mjm8.js", bundle.encode())
    assert readable("src/app.js", (root / "src/app.js").read_bytes())


def test_lookup(index: LibsqlRepoIndex, repo: Path) -> None:
    r = str(repo)
    index.index(r)
    hit = index.lookup(r, "file", "server.py")
    assert hit.found and hit.matches == ["app/server.py"]
    assert index.lookup(r, "file", "components/ShoppingCart.tsx").found
    miss = index.lookup(r, "file", "app/servr.py")
    assert not miss.found and miss.closest == "app/server.py"
    assert index.lookup(r, "file", "ShopingCart.tsx").closest == (
        "web/src/components/ShoppingCart.tsx"
    )

    assert index.lookup(r, "symbol", "OrderExporter.to_rows").found
    line = FILES["app/server.py"].splitlines().index("    def to_rows(self):") + 1
    assert index.lookup(r, "symbol", "to_rows").matches == [f"app/server.py:{line}"]
    sym = index.lookup(r, "symbol", "OrderExporter.to_row")
    assert not sym.found and sym.closest == "OrderExporter.to_rows"

    assert index.lookup(r, "setting", "APP_SECRET").found
    assert not index.lookup(r, "setting", "app_secret").found  # case-sensitive
    setting = index.lookup(r, "setting", "APP_SECRETS")
    assert not setting.found and setting.closest == "APP_SECRET"

    nothing = index.lookup(r, "symbol", "zzzqqq")
    assert not nothing.found and nothing.closest is None and nothing.matches == []


@pytest.mark.parametrize(
    "name",
    [
        "GET /api/orders/{id}",
        "GET /api/orders/:id",
        "get /api/orders/<order>",
        "/api/orders/<int:x>/",
        "https://shop.example/api/orders/{orderId}?full=1",
    ],
)
def test_route_param_equivalence(index: LibsqlRepoIndex, repo: Path, name: str) -> None:
    index.index(str(repo))
    found = index.lookup(str(repo), "route", name)
    assert found.found, found
    assert "GET /api/orders/{order_id}" in found.matches


def test_route_not_found_has_closest(index: LibsqlRepoIndex, repo: Path) -> None:
    r = str(repo)
    index.index(r)
    wrong_method = index.lookup(r, "route", "DELETE /users/{id}")
    assert not wrong_method.found and wrong_method.closest == "GET /users/{userId}"
    typo = index.lookup(r, "route", "POST /webhook/stripe")
    assert not typo.found and typo.closest == "POST /webhooks/stripe"


def test_search_ranking(index: LibsqlRepoIndex, repo: Path) -> None:
    r = str(repo)
    index.index(r)
    top = [h.path for h in index.search(r, "shopping cart component", limit=3)]
    assert "web/src/components/ShoppingCart.tsx" in top
    hits = index.search(r, "export orders to rows", limit=3)
    assert hits[0].path == "app/server.py"
    assert hits[0].language == "python" and hits[0].score > 0
    assert index.search(r, "stripe webhooks", limit=3)[0].path == "server/routes.js"
    assert index.search(r, "the of and to") == []


@pytest.mark.parametrize(
    "query",
    ['"', "'); DROP TABLE idx_files; --", "orders* AND (", "NEAR(a b)", "path:x", "^-+*", ""],
)
def test_search_never_raises_on_punctuation(index: LibsqlRepoIndex, repo: Path, query: str) -> None:
    index.index(str(repo))
    assert isinstance(index.search(str(repo), query), list)
    assert index.lookup(str(repo), "route", query).found is False


def test_incremental_reindex(
    index: LibsqlRepoIndex, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = str(repo)
    index.index(r)
    assert len(index.last_extracted) > 5

    calls: list[str] = []
    real = extract

    def counting(path: str, text: str) -> Any:
        calls.append(path)
        return real(path, text)

    monkeypatch.setattr(store_module, "extract", counting)
    index.index(r)
    assert calls == [] and index.last_extracted == [] and index.last_removed == []

    (repo / "app" / "server.py").write_text(
        FILES["app/server.py"].replace("def health", "def healthcheck")
    )
    (repo / "server" / "routes.js").unlink()
    status = index.index(r)
    assert status.state == "ready"
    assert calls == ["app/server.py"]
    assert index.last_removed == ["server/routes.js"]
    assert index.lookup(r, "symbol", "healthcheck").found
    assert not index.lookup(r, "symbol", "health").found
    assert not index.path_exists(r, "server/routes.js")
    assert not index.lookup(r, "route", "POST /webhooks/stripe").found
    assert "server/routes.js" not in {h.path for h in index.search(r, "stripe webhooks")}
    assert index.lookup(r, "setting", "PORT").matches == [".env.example:1"]


def test_an_index_another_version_of_the_extractors_filled_is_extracted_again(
    index: LibsqlRepoIndex, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = str(repo)
    index.index(r)
    total = len(index.last_extracted)
    key = store_module.repo_key(r)
    assert index.extracted_by_this_version(key)
    index.index(r)
    assert index.last_extracted == []  # same files, same extractors: nothing read again

    monkeypatch.setattr(store_module.version, "EXTRACTOR", "a-later-version")
    assert not index.extracted_by_this_version(key)
    # a rebuild by the new version stopped after its first chunk: what it did is kept
    index.claim_for_this_version(key)
    assert index.extracted_by_this_version(key)
    status = index.index(r)
    assert status.state == "ready" and len(index.last_extracted) == total
    index.index(r)
    assert index.last_extracted == []


def test_an_index_written_before_the_extractor_column_gains_it(libsql_db: Database) -> None:
    libsql_db.execute(
        "CREATE TABLE idx_repos (repo TEXT PRIMARY KEY, state TEXT NOT NULL, files_total "
        "INTEGER NOT NULL DEFAULT 0, files_done INTEGER NOT NULL DEFAULT 0, error TEXT, "
        "updated_at TEXT NOT NULL)")
    libsql_db.execute("INSERT INTO idx_repos(repo, state, updated_at) VALUES ('ix-old', 'ready', "
                      "'2026-01-01T00:00:00+00:00')")
    index = LibsqlRepoIndex(libsql_db)
    assert index.status("ix-old").state == "ready"
    assert not index.extracted_by_this_version("ix-old")  # filled by an unknown version


@pytest.mark.parametrize("backend", ["native", "sqld"])
def test_status_transitions_and_progress_persisted(
    backend: str, open_libsql: Callable[[str], Database], repo: Path
) -> None:
    index = LibsqlRepoIndex(open_libsql(backend), chunk_size=2)
    r = str(repo)
    seen: list[tuple[int, int, str, int]] = []
    with open_libsql(backend) as other:  # another connection to the same database
        observer = LibsqlRepoIndex(other)

        def progress(done: int, total: int, path: str) -> None:
            st = observer.status(r)
            assert st.state == "indexing"
            assert st.files_total == total
            seen.append((done, total, path, st.files_done))

        final = index.index(r, progress=progress)
        assert observer.status(r).state == "ready"
    assert final.state == "ready" and final.files_done == final.files_total
    dones = [d for d, *_ in seen]
    assert dones == list(range(1, final.files_total + 1))
    # committed at least every 2 files, so a reader sees progress while indexing goes on
    for done, _total, _path, persisted in seen:
        assert done - 1 <= persisted <= done
    assert any(0 < p < final.files_total for *_, p in seen)


def test_failure_is_recorded(index: LibsqlRepoIndex, tmp_path: Path) -> None:
    missing = str(tmp_path / "nope")
    status = index.index(missing)
    assert status.state == "failed"
    assert status.error and "not found" in status.error
    with pytest.raises(IndexNotReadyError, match="failed"):
        index.search(missing, "x")


def test_failure_mid_index(
    index: LibsqlRepoIndex, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(path: str, text: str) -> Any:
        raise RuntimeError(f"cannot read {path}")

    monkeypatch.setattr(store_module, "extract", boom)
    status = index.index(str(repo))
    assert status.state == "failed"
    assert status.error is not None and "RuntimeError: cannot read" in status.error


def test_mark(index: LibsqlRepoIndex, repo: Path) -> None:
    r = str(repo)
    assert index.mark(r, "pending").state == "pending"
    assert index.mark(r, "failed", error="disk full").error == "disk full"
    assert index.mark(r, "none").state == "none"


def test_sample_repo(index: LibsqlRepoIndex, tmp_path: Path) -> None:
    copy = tmp_path / "sample"
    shutil.copytree(SAMPLE_REPO, copy)
    r = str(copy)
    status = index.index(r)
    assert status.state == "ready", status.error
    assert 15 <= status.files_total <= 40

    top = [h.path for h in index.search(r, "invoice list csv export", limit=5)]
    assert "web/src/components/InvoiceList.tsx" in top
    assert "billing/invoice_service.py" in top
    assert not index.lookup(r, "symbol", "export_invoices_csv").found  # not built yet

    assert index.lookup(r, "route", "GET /api/invoices/{id}/pdf").found
    assert index.lookup(r, "route", "GET /api/invoices").found
    assert index.lookup(r, "symbol", "list_invoices").found
    assert index.lookup(r, "symbol", "InvoiceDetail").found
    for name in ("DATABASE_URL", "SMTP_HOST", "INVOICE_PAGE_SIZE", "VITE_API_URL"):
        assert index.lookup(r, "setting", name).found, name
    sources = {e.source for e in index.endpoints(r)}
    assert {"api/routes/invoices.py", "openapi.yaml"} <= sources


def test_a_folder_ignored_by_the_enclosing_repo_is_walked_on_disk(tmp_path: Path) -> None:
    from ticketflow.repo_index.walker import candidate_paths

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_text("cache/\n")
    inner = tmp_path / "cache" / "pkg"
    inner.mkdir(parents=True)
    (inner / "mod.py").write_text("def f():\n    return 1\n")
    assert list(candidate_paths(inner)) == ["mod.py"]


def test_generated_files_are_not_indexed() -> None:
    from ticketflow.repo_index.walker import looks_generated

    assert looks_generated("static/codemirror-5.57.0-sql.min.js")
    assert looks_generated("web/package-lock.json") and looks_generated("app.js.map")
    assert not looks_generated("web/src/minimal.js") and not looks_generated("package.json")

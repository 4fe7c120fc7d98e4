"""Code structure of one file: what it imports, which routers it creates and mounts,
which routes it declares on them, which templates or components it renders, which
models it defines, which string constants it holds and which text it shows people.

The facts are local to the file: names are the file's own (a router variable, an
imported name), paths and prefixes are literal strings or the dotted name of a
constant (``Paths.Users.Get``, ``config:USER_URL_PREFIX``). :mod:`.link` resolves
them across the repository (imports, mounts, prefixes, constants).

Frameworks read: Flask (blueprints, ``register_blueprint``, ``add_url_rule`` and
helpers that take a blueprint and ``routes=[...]``), FastAPI (``APIRouter``,
``include_router``, ``mount``), Django (``path``/``re_path``/``include`` in url
modules), Express (``Router()``, ``app.use``, ``router.get``), NestJS
(``@Controller`` + ``@Get``..., ``setGlobalPrefix``), React Router (``<Route path
element>`` and route objects); models of SQLAlchemy, Django, Prisma, TypeORM and
Drizzle; UI text of templates, JSX, gettext calls and translation catalogues.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

__all__ = ["ImportDecl", "ModelDecl", "MountDecl", "RouteDecl", "RouterDecl",
           "StructureFacts", "extract_structure", "from_json", "to_json"]


@dataclass(frozen=True)
class ImportDecl:
    """``spec`` as written (``./routes/users``, ``fief.apps.api``, ``.views``); ``names``
    maps each local name to the name it has in the imported module (``*`` for the
    module itself)."""

    spec: str
    names: tuple[tuple[str, str], ...] = ()
    level: int = 0  # python relative-import dots


@dataclass(frozen=True)
class RouterDecl:
    """A router, blueprint, app or controller created in this file."""

    name: str
    kind: str  # blueprint | apirouter | app | express | nest
    prefix: str = ""
    prefix_expr: str = ""


@dataclass(frozen=True)
class RouteDecl:
    """A route declared on ``owner`` (a router name of this file; empty when ``path`` is
    already the whole path, as in Django url modules or OpenAPI files)."""

    method: str
    path: str
    owner: str = ""
    path_expr: str = ""
    line: int = 0
    handler: str = ""


@dataclass(frozen=True)
class MountDecl:
    """``parent`` mounts ``child`` (a local or imported name, or a dotted module
    attribute) under ``prefix`` (or the constant ``prefix_expr``)."""

    parent: str
    child: str
    prefix: str = ""
    prefix_expr: str = ""
    line: int = 0


@dataclass(frozen=True)
class ModelDecl:
    """A persisted entity: ``name`` (class / model name) and its table when known."""

    name: str
    table: str = ""
    framework: str = ""


@dataclass
class StructureFacts:
    """Everything :func:`extract_structure` finds in one file."""

    imports: list[ImportDecl] = field(default_factory=list)
    constants: dict[str, str] = field(default_factory=dict)
    routers: list[RouterDecl] = field(default_factory=list)
    routes: list[RouteDecl] = field(default_factory=list)
    mounts: list[MountDecl] = field(default_factory=list)
    renders: list[str] = field(default_factory=list)  # template names or component names
    # template name -> the views that render it (function or class names, space-separated)
    render_scopes: dict[str, str] = field(default_factory=dict)
    models: list[ModelDecl] = field(default_factory=list)
    ui_text: list[str] = field(default_factory=list)
    prefix_unresolved: bool = False  # routes here sit under a prefix set elsewhere
    global_prefix_exprs: list[str] = field(default_factory=list)

    def is_empty(self) -> bool:
        return not (self.imports or self.constants or self.routers or self.routes
                    or self.mounts or self.renders or self.models or self.ui_text)


def add_names(names: str, more: str) -> str:
    """Space-separated ``names`` with each name of ``more`` appended once."""
    words = names.split()
    words += [w for w in dict.fromkeys(more.split()) if w not in words]
    return " ".join(words)


def extract_structure(path: str, text: str, language: str | None) -> StructureFacts:
    """The structure facts of one file (``path`` repo-relative)."""
    # imported here: each reader is a module of its own, loaded only when used
    from ticketflow.repo_index import structure_markup, structure_py, structure_ts

    facts = StructureFacts()
    if language == "python":
        structure_py.read(path, text, facts)
    elif language in ("typescript", "javascript"):
        structure_ts.read(path, text, facts)
    else:
        structure_markup.read(path, text, language, facts)
    return facts


def to_json(facts: StructureFacts) -> str:
    """The facts as compact JSON (what the index stores per file)."""
    return json.dumps({k: v for k, v in asdict(facts).items() if v}, separators=(",", ":"))


def from_json(text: str) -> StructureFacts:
    """The inverse of :func:`to_json`."""
    raw = json.loads(text or "{}")
    return StructureFacts(
        imports=[ImportDecl(i["spec"], tuple(tuple(n) for n in i.get("names", ())),
                            i.get("level", 0)) for i in raw.get("imports", [])],
        constants=dict(raw.get("constants", {})),
        routers=[RouterDecl(**r) for r in raw.get("routers", [])],
        routes=[RouteDecl(**r) for r in raw.get("routes", [])],
        mounts=[MountDecl(**m) for m in raw.get("mounts", [])],
        renders=list(raw.get("renders", [])),
        render_scopes=dict(raw.get("render_scopes", {})),
        models=[ModelDecl(**m) for m in raw.get("models", [])],
        ui_text=list(raw.get("ui_text", [])),
        prefix_unresolved=bool(raw.get("prefix_unresolved", False)),
        global_prefix_exprs=list(raw.get("global_prefix_exprs", [])),
    )

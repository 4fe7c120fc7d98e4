"""Facts from one file's text: language, symbols, HTTP routes, settings, API operations.

Python is read with :mod:`ast` (falling back to regular expressions when the file
does not parse); TypeScript/JavaScript with regular expressions; OpenAPI/Swagger
documents with PyYAML/JSON. Everything here is pure: text in, :class:`FileFacts` out.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import yaml

HTTP_METHODS = ("get", "post", "put", "patch", "delete", "head", "options")

LANGUAGES = {
    ".py": "python",
    ".pyi": "python",
    ".ts": "typescript",
    ".tsx": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".js": "javascript",
    ".jsx": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
    ".kt": "kotlin",
    ".rb": "ruby",
    ".php": "php",
    ".cs": "csharp",
    ".swift": "swift",
    ".c": "c",
    ".h": "c",
    ".cpp": "cpp",
    ".hpp": "cpp",
    ".sql": "sql",
    ".sh": "shell",
    ".md": "markdown",
    ".rst": "rst",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".json": "json",
    ".toml": "toml",
    ".html": "html",
    ".css": "css",
    ".scss": "scss",
    ".vue": "vue",
    ".svelte": "svelte",
    ".ini": "ini",
    ".cfg": "ini",
    ".txt": "text",
}
ENV_FILES = {".env", ".env.example", ".env.sample", ".env.template", ".env.dist", ".env.local"}


@dataclass(frozen=True)
class Symbol:
    """A named definition: ``function``, ``class``, ``method``, ``component``, ``const``,
    ``type``. Methods appear twice: as ``Class.method`` and as bare ``method``."""

    name: str
    kind: str
    line: int


@dataclass(frozen=True)
class Route:
    """An HTTP operation ``METHOD /path`` (params normalised to ``{name}``).

    ``origin`` is ``code`` for framework routes and ``openapi`` for documented ones."""

    method: str
    path: str
    line: int = 0
    summary: str = ""
    origin: str = "code"

    @property
    def key(self) -> str:
        return route_key(self.path)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class Setting:
    """A configuration name the code reads (environment variable, settings field)."""

    name: str
    line: int


@dataclass
class FileFacts:
    """Everything extracted from one file."""

    language: str | None
    symbols: list[Symbol] = field(default_factory=list)
    routes: list[Route] = field(default_factory=list)
    settings: list[Setting] = field(default_factory=list)


# -- helpers ------------------------------------------------------------------------------

# <int:id> (Flask, Django), :id (Express), {id} (FastAPI, OpenAPI), [id] / [...slug] /
# [[...slug]] (Next.js file routes)
_PARAM_RE = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>|:([A-Za-z_]\w*)\x00?|\{([^{}]+)\}|"
                       r"\[(\[)?(?:\.\.\.)?(\w+)\]\]?")
_CAMEL_RE = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def language_for(path: str) -> str | None:
    """Language by file extension (``None`` when unknown)."""
    name = PurePosixPath(path).name
    if name in ENV_FILES:
        return "dotenv"
    if name == "Dockerfile":
        return "dockerfile"
    return LANGUAGES.get(PurePosixPath(path).suffix.lower())


def split_words(text: str) -> list[str]:
    """Split identifiers and paths into words: ``/ _ - .``, spaces and camelCase."""
    words: list[str] = []
    for chunk in re.split(r"[^A-Za-z0-9]+", text):
        if chunk:
            words.extend(w for w in _CAMEL_RE.split(chunk) if w)
    return words


def normalize_path(path: str) -> str:
    """Canonical route path: leading slash, no trailing slash, params as ``{name}`` (an
    optional Express parameter ``:name?`` as ``{name?}``)."""
    path = path.strip()
    # ":name?" marks an optional parameter, not the start of a query string
    path = re.sub(r"(:[A-Za-z_]\w*)\?(?=/|$)", "\\1\x00", path)
    path = re.sub(r"^[a-z]+://[^/]+", "", path)
    path = re.sub(r"\?(?![^{}]*\}).*$", "", path).split("#")[0]  # the query, not "{a?}"
    if not path.startswith("/"):
        path = "/" + path
    path = re.sub(r"/{2,}", "/", path)
    if len(path) > 1:
        path = path.rstrip("/")

    def param(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2) or m.group(3) or m.group(5) or ""
        optional = "?" if m.group(0).endswith("\x00") or m.group(4) else ""
        return "{" + name.split(":")[0].strip() + optional + "}"

    return _PARAM_RE.sub(param, path).replace("\x00", "")


def route_key(path: str) -> str:
    """A path with every parameter blanked, so ``{id}``, ``:id`` and ``<int:id>`` agree."""
    return re.sub(r"\{[^{}]*\}", "{}", normalize_path(path))


def _join(prefix: str, path: str) -> str:
    if not prefix:
        return normalize_path(path)
    return normalize_path(prefix.rstrip("/") + "/" + path.lstrip("/"))


def _line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


# -- python -------------------------------------------------------------------------------

_ROUTE_FACTORIES = {"Blueprint": "url_prefix", "APIRouter": "prefix", "FastAPI": "root_path"}


def _str(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def _kw(call: ast.Call, name: str) -> ast.AST | None:
    for kw in call.keywords:
        if kw.arg == name:
            return kw.value
    return None


# settings a framework reads from a module or a class of upper-case names: Django's
# settings.py, Flask's default_settings.py / config.py and its Config classes
_SETTINGS_MODULE = re.compile(r"(^|/|_)(settings|config|conf|configuration)(/[\w]+)?\.py$")
_CONFIG_CLASS = re.compile(r"(Config|Settings|Configuration)$")
_CONFIG_BASES = frozenset({"Config", "BaseConfig", "DefaultConfig"})
_UPPER_NAME = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|[A-Z]{3,}")


class _PyVisitor(ast.NodeVisitor):
    def __init__(self) -> None:
        self.symbols: list[Symbol] = []
        self.routes: list[Route] = []
        self.settings: list[Setting] = []
        self.prefixes: dict[str, str] = {}
        self._class: list[str] = []

    # definitions
    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.symbols.append(Symbol(node.name, "class", node.lineno))
        bases = {_dotted(b).rsplit(".", 1)[-1] for b in node.bases}
        if "BaseSettings" in bases:
            self._settings_fields(node)
        elif not self._class and (_CONFIG_CLASS.search(node.name)
                                  or bases & _CONFIG_BASES):
            # class DevelopmentConfig(Config): DEBUG = True -- a Flask-style settings class
            self._upper_names(node.body)
        self._traits(node)
        self._class.append(node.name)
        self.generic_visit(node)
        self._class.pop()

    def _traits(self, node: ast.ClassDef) -> None:
        """traitlets options (``start_timeout = Integer(60).tag(config=True)``): set in a
        config file as ``c.Spawner.start_timeout``, so known by both names."""
        for stmt in node.body:
            if not (isinstance(stmt, ast.Assign | ast.AnnAssign) and isinstance(
                    stmt.value, ast.Call) and isinstance(stmt.value.func, ast.Attribute)
                    and stmt.value.func.attr == "tag"):
                continue
            config = _kw(stmt.value, "config")
            if not (isinstance(config, ast.Constant) and config.value is True):
                continue
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            for t in targets:
                if isinstance(t, ast.Name):
                    self.settings.append(Setting(t.id, stmt.lineno))
                    self.settings.append(Setting(f"{node.name}.{t.id}", stmt.lineno))

    def _upper_names(self, body: list[ast.stmt]) -> None:
        for stmt in body:
            targets = (stmt.targets if isinstance(stmt, ast.Assign)
                       else [stmt.target] if isinstance(stmt, ast.AnnAssign) else [])
            for t in targets:
                if isinstance(t, ast.Name) and _UPPER_NAME.fullmatch(t.id):
                    self.settings.append(Setting(t.id, stmt.lineno))

    def _settings_fields(self, node: ast.ClassDef) -> None:
        prefix = ""
        for stmt in node.body:
            if isinstance(stmt, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "model_config" for t in stmt.targets
            ):
                call = stmt.value
                if isinstance(call, ast.Call):
                    prefix = _str(_kw(call, "env_prefix")) or ""
                elif isinstance(call, ast.Dict):
                    for k, v in zip(call.keys, call.values, strict=False):
                        if _str(k) == "env_prefix":
                            prefix = _str(v) or ""
            elif isinstance(stmt, ast.ClassDef) and stmt.name == "Config":  # pydantic 1
                for inner in stmt.body:
                    if isinstance(inner, ast.Assign) and any(
                            isinstance(t, ast.Name) and t.id == "env_prefix"
                            for t in inner.targets):
                        prefix = _str(inner.value) or prefix
        for stmt in node.body:
            if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                name = stmt.target.id
                if name.startswith("_") or name == "model_config":
                    continue
                self.settings.append(Setting(name, stmt.lineno))
                env = (prefix + name).upper()
                if env != name:
                    self.settings.append(Setting(env, stmt.lineno))
                if isinstance(stmt.value, ast.Call):  # Field(env=..., alias=...)
                    for kw in ("env", "alias", "validation_alias"):
                        if alias := _str(_kw(stmt.value, kw)):
                            self.settings.append(Setting(alias, stmt.lineno))

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        if self._class:
            self.symbols.append(Symbol(f"{self._class[-1]}.{node.name}", "method", node.lineno))
            self.symbols.append(Symbol(node.name, "method", node.lineno))
        else:
            self.symbols.append(Symbol(node.name, "function", node.lineno))
        for deco in node.decorator_list:
            self._route(deco, node)
        saved, self._class = self._class, []
        self.generic_visit(node)
        self._class = saved

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._function(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._function(node)

    # routes
    def visit_Assign(self, node: ast.Assign) -> None:
        if isinstance(node.value, ast.Call):
            factory = _dotted(node.value.func).rsplit(".", 1)[-1]
            if factory in _ROUTE_FACTORIES:
                prefix = _str(_kw(node.value, _ROUTE_FACTORIES[factory])) or ""
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        self.prefixes[target.id] = prefix
        self.generic_visit(node)

    def _route(self, deco: ast.AST, fn: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        if not isinstance(deco, ast.Call) or not isinstance(deco.func, ast.Attribute):
            return
        attr = deco.func.attr
        path = _str(deco.args[0]) if deco.args else _str(_kw(deco, "path") or _kw(deco, "rule"))
        if path is None or (path and not path.startswith("/")):
            return
        if attr in ("route", "api_route"):
            methods_node = _kw(deco, "methods")
            methods = ["GET"]
            if isinstance(methods_node, ast.List | ast.Tuple | ast.Set):
                methods = [m.upper() for e in methods_node.elts if (m := _str(e))]
        elif attr in HTTP_METHODS:
            methods = [attr.upper()]
        else:
            return
        owner = _dotted(deco.func.value)
        full = _join(self.prefixes.get(owner, ""), path)
        summary = (ast.get_docstring(fn) or "").strip().splitlines()
        for method in methods:
            self.routes.append(Route(method, full, deco.lineno, summary[0] if summary else ""))

    # settings
    def visit_Subscript(self, node: ast.Subscript) -> None:
        if _dotted(node.value).endswith("environ") and (name := _str(node.slice)):
            self.settings.append(Setting(name, node.lineno))
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = _dotted(node.func)
        if (
            node.args
            and (
                func.endswith(("environ.get", "environ.setdefault", "environ.pop"))
                or func in ("os.getenv", "getenv")
            )
            and (name := _str(node.args[0]))
        ):
            self.settings.append(Setting(name, node.lineno))
        self.generic_visit(node)


_PY_DEF_RE = re.compile(r"^[ \t]*(?:async[ \t]+)?(def|class)[ \t]+([A-Za-z_]\w*)", re.M)


def _python(path: str, text: str, facts: FileFacts) -> None:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        for m in _PY_DEF_RE.finditer(text):
            kind = "class" if m.group(1) == "class" else "function"
            facts.symbols.append(Symbol(m.group(2), kind, _line_of(text, m.start())))
        facts.settings.extend(_regex_env(text))
        return
    visitor = _PyVisitor()
    visitor.visit(tree)
    if _SETTINGS_MODULE.search(path):
        visitor._upper_names(tree.body)
    facts.symbols.extend(visitor.symbols)
    facts.routes.extend(visitor.routes)
    facts.settings.extend(visitor.settings)


_PY_ENV_RE = re.compile(
    r"""(?:environ\s*\[\s*|environ\.get\(\s*|getenv\(\s*)['"]([A-Za-z_][A-Za-z0-9_]*)['"]"""
)


def _regex_env(text: str) -> list[Setting]:
    return [Setting(m.group(1), _line_of(text, m.start())) for m in _PY_ENV_RE.finditer(text)]


# -- typescript / javascript ------------------------------------------------------------------

_IDENT = r"[A-Za-z_$][\w$]*"
_TS_FUNCTION = re.compile(
    rf"^[ \t]*(?:export[ \t]+)?(?:default[ \t]+)?(?:async[ \t]+)?function\b\s*\*?\s*({_IDENT})",
    re.M,
)
_TS_CLASS = re.compile(
    rf"^[ \t]*(?:export[ \t]+)?(?:default[ \t]+)?(?:abstract[ \t]+)?class[ \t]+({_IDENT})", re.M
)
_TS_TYPE = re.compile(
    rf"^[ \t]*(?:export[ \t]+)?(?:declare[ \t]+)?(?:interface|type|enum)[ \t]+({_IDENT})", re.M
)
_TS_CONST = re.compile(
    rf"^[ \t]*(export[ \t]+)?(?:const|let|var)[ \t]+({_IDENT})\s*(?::[^=\n]+)?=\s*(.{{0,80}})",
    re.M,
)
_ARROW = re.compile(
    rf"^(?:async\s*)?(?:\([^)]*\)|{_IDENT})\s*(?::[^=]+)?=>|^(?:async\s+)?function\b"
    r"|^(?:React\.)?(?:memo|forwardRef)\("
)
_TS_METHOD = re.compile(
    r"^[ \t]*(?:(?:public|private|protected|static|async|readonly|override|get|set)[ \t]+)*"
    rf"({_IDENT})\s*(?:<[^>\n]*>)?\s*\([^)\n]*\)\s*(?::[^{{\n]+)?\{{",
    re.M,
)
_NOT_METHODS = {"if", "for", "while", "switch", "catch", "function", "return", "with", "do"}
_EXPRESS = re.compile(
    r"\b(app|router|server|api|\w*[Rr]outer|routes?)\s*\.\s*"
    r"(get|post|put|patch|delete|all|options|head)\s*\(\s*(['\"`])(/[^'\"`]*)\3\s*,"
)
_PROCESS_ENV = re.compile(
    r"\b(?:process\.env|import\.meta\.env)(?:\.([A-Za-z_]\w*)|\[\s*['\"]([A-Za-z_]\w*)['\"]\s*\])"
)


def _block_end(text: str, open_pos: int) -> int:
    depth = 0
    for i in range(open_pos, len(text)):
        ch = text[i]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i
    return len(text)


# settings a JavaScript / TypeScript project declares as the keys of an object: a module
# named for its configuration (``config.js``, ``env.ts``, ``config-schema.ts``) that
# assigns or exports an object literal, a zod / Joi schema of the environment, and the
# ``{ key: { _type: ..., _default: ... } }`` entries of a configuration schema
_SCRIPT_SETTINGS_NAME = frozenset({"config", "configuration", "conf", "settings", "setting",
                                   "env", "environment", "options"})
_SCRIPT_SETTINGS_EXTRA = frozenset({"schema", "default", "defaults", "local", "base", "app",
                                    "server", "sample", "example"})
_OBJECT_START = re.compile(
    r"(?:=|export\s+default|\b(?:z|Joi|yup)\.object\(\)?(?:\.keys\()?|\bobject\()\s*\{")
_SCHEMA_OBJECT = re.compile(r"\b(?:z|Joi)\.object\(\s*\{")
# (starting only where a name starts: inside a long run of word characters, a base64
# image in a bundle, every position would scan the rest of the run)
_SCHEMA_ENTRY = re.compile(rf"(?<![\w$])['\"]?({_IDENT})['\"]?\s*:\s*\{{\s*_type\s*:")
_OBJECT_KEY = re.compile(rf"(?:^|[{{,])\s*(?://[^\n]*\n\s*|/\*.*?\*/\s*)*['\"]?({_IDENT})['\"]?\s*:",
                         re.S)


def _settings_file(path: str) -> bool:
    name = PurePosixPath(path).name.split(".")
    words = {w.lower() for part in name[:-1] for w in re.split(r"[-_]", part) if w}
    return bool(words & _SCRIPT_SETTINGS_NAME) and words <= (
        _SCRIPT_SETTINGS_NAME | _SCRIPT_SETTINGS_EXTRA)


def _top_keys(text: str, brace: int, end: int) -> list[tuple[str, int]]:
    """The keys of the object literal opening at ``brace`` and closing at ``end``
    (:func:`_block_end`), at its own nesting level."""
    keys: list[tuple[str, int]] = []
    depth = 0
    start = brace + 1
    for i in range(brace + 1, end):
        ch = text[i]
        if ch in "{[(":
            if depth == 0:
                keys.extend(_keys_in(text, start, i))
            depth += 1
        elif ch in "}])":
            depth -= 1
            if depth == 0:
                start = i + 1
    if depth == 0:
        keys.extend(_keys_in(text, start, end))
    return keys


def _keys_in(text: str, start: int, end: int) -> list[tuple[str, int]]:
    chunk, offset = text[start:end], start
    if start > 0 and text[start - 1] not in "{}])":
        # a segment that follows a closed value starts a new entry
        chunk, offset = "," + chunk, start - 1
    return [(m.group(1), offset + m.start(1)) for m in _OBJECT_KEY.finditer(chunk)
            if chunk[m.end():m.end() + 1] != ":"]  # not ``a::b``


def _script_settings(path: str, text: str) -> list[Setting]:
    found: list[tuple[str, int]] = [(m.group(1), m.start()) for m in _SCHEMA_ENTRY.finditer(text)]
    starts = (_OBJECT_START if _settings_file(path) else _SCHEMA_OBJECT).finditer(text)
    covered = -1
    for m in starts:
        brace = m.end() - 1
        if brace < covered:
            continue  # an object inside one already read
        covered = _block_end(text, brace)
        found.extend(_top_keys(text, brace, covered))
    return [Setting(name, _line_of(text, pos)) for name, pos in found
            if not name.startswith("_")]  # ``_type``, ``_default``: the schema's own words


def _script(path: str, text: str, facts: FileFacts) -> None:
    jsx = path.endswith((".tsx", ".jsx"))

    def fn_kind(name: str) -> str:
        return "component" if jsx and name[:1].isupper() else "function"

    for m in _TS_FUNCTION.finditer(text):
        facts.symbols.append(Symbol(m.group(1), fn_kind(m.group(1)), _line_of(text, m.start())))
    for m in _TS_TYPE.finditer(text):
        facts.symbols.append(Symbol(m.group(1), "type", _line_of(text, m.start())))
    for m in _TS_CONST.finditer(text):
        exported, name, rhs = m.group(1), m.group(2), m.group(3)
        if _ARROW.match(rhs.strip()):
            facts.symbols.append(Symbol(name, fn_kind(name), _line_of(text, m.start())))
        elif exported:
            facts.symbols.append(Symbol(name, "const", _line_of(text, m.start())))
    for m in _TS_CLASS.finditer(text):
        cls = m.group(1)
        facts.symbols.append(Symbol(cls, "class", _line_of(text, m.start())))
        brace = text.find("{", m.end())
        if brace < 0:
            continue
        body_end = _block_end(text, brace)
        depth_base = brace + 1
        for mm in _TS_METHOD.finditer(text, depth_base, body_end):
            name = mm.group(1)
            # only members at the class's own nesting level
            if name in _NOT_METHODS or text.count("{", depth_base, mm.start()) != text.count(
                "}", depth_base, mm.start()
            ):
                continue
            line = _line_of(text, mm.start())
            facts.symbols.append(Symbol(f"{cls}.{name}", "method", line))
            facts.symbols.append(Symbol(name, "method", line))
    if not jsx:
        for m in _EXPRESS.finditer(text):
            method = "ANY" if m.group(2) == "all" else m.group(2).upper()
            line = _line_of(text, m.start())
            facts.routes.append(Route(method, normalize_path(m.group(4)), line))
    for m in _PROCESS_ENV.finditer(text):
        facts.settings.append(Setting(m.group(1) or m.group(2), _line_of(text, m.start())))
    if not jsx:
        facts.settings.extend(_script_settings(path, text))


# -- env files, openapi -------------------------------------------------------------------

_ENV_LINE = re.compile(r"^[ \t]*(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_]*)[ \t]*=", re.M)
_OPENAPI_HEAD = re.compile(
    r"""^(?:openapi|swagger)\s*:|^\s*\{?\s*"(?:openapi|swagger)"\s*:""", re.M
)


def env_file_keys(text: str) -> list[Setting]:
    """Keys of a ``.env``-style file (values are never kept)."""
    return [Setting(m.group(1), _line_of(text, m.start())) for m in _ENV_LINE.finditer(text)]


def is_openapi(path: str, text: str) -> bool:
    """An OpenAPI/Swagger document by name, or a yaml/json with a top-level key."""
    p = PurePosixPath(path)
    if p.suffix.lower() not in (".yaml", ".yml", ".json"):
        return False
    if p.stem.lower() in ("openapi", "swagger"):
        return True
    return bool(_OPENAPI_HEAD.search(text[:4096]))


def openapi_operations(text: str, *, is_json: bool = False) -> list[Route]:
    """Operations ``METHOD /path`` with their summary; ``[]`` if the document is unusable."""
    try:
        doc: Any = json.loads(text) if is_json else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError):
        return []
    if not isinstance(doc, dict) or not isinstance(doc.get("paths"), dict):
        return []
    base = doc.get("basePath") if isinstance(doc.get("basePath"), str) else ""
    routes: list[Route] = []
    for raw_path, item in doc["paths"].items():
        if not isinstance(raw_path, str) or not isinstance(item, dict):
            continue
        for method, op in item.items():
            if str(method).lower() not in HTTP_METHODS:
                continue
            op = op if isinstance(op, dict) else {}
            summary = op.get("summary") or op.get("operationId") or op.get("description") or ""
            summary_line = str(summary).strip().splitlines()
            routes.append(
                Route(
                    str(method).upper(),
                    _join(str(base or ""), raw_path),
                    summary=summary_line[0] if summary_line else "",
                    origin="openapi",
                )
            )
    return routes


# -- entry point ----------------------------------------------------------------------------


def extract(path: str, text: str) -> FileFacts:
    """All facts of one file (``path`` is repo-relative, used for language and kind)."""
    language = language_for(path)
    facts = FileFacts(language)
    if language == "python":
        _python(path, text, facts)
    elif language in ("typescript", "javascript"):
        _script(path, text, facts)
    elif language == "dotenv":
        facts.settings.extend(env_file_keys(text))
    if language in ("yaml", "json") and is_openapi(path, text):
        facts.routes.extend(openapi_operations(text, is_json=language == "json"))
    return facts

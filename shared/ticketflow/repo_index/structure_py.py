"""Structure facts of a Python file (see :mod:`.structure`), read with :mod:`ast`."""

from __future__ import annotations

import ast
import json
import re
from pathlib import PurePosixPath

from ticketflow.repo_index.structure import (
    ImportDecl,
    ModelDecl,
    MountDecl,
    RouteDecl,
    RouterDecl,
    StructureFacts,
    add_names,
)
from ticketflow.repo_index.structure_ts import label_strings

_ROUTER_FACTORIES = {"Blueprint": ("blueprint", "url_prefix"), "APIRouter": ("apirouter", "prefix"),
                     "FastAPI": ("app", "root_path"), "Flask": ("app", ""),
                     "Starlette": ("app", "")}
# Flask-RESTful's and Flask-RESTX's route holders
_RESOURCE_APIS = {"Api", "Namespace"}
_METHODS = {"get", "post", "put", "patch", "delete", "head", "options"}
_GETTEXT = {"_", "gettext", "gettext_lazy", "lazy_gettext", "ugettext", "ugettext_lazy",
            "_l", "pgettext", "ngettext", "N_"}
_RENDER_CALLS = {"render_template", "render", "TemplateResponse", "render_to_string",
                 "get_template", "render_to_response", "select_template"}
_TEMPLATE_EXT = re.compile(r"\.(html?|jinja2?|j2|txt|xml)$")
_TEMPLATE_PATH = re.compile(r"^[\w][\w./-]*\.(html?|jinja2?|j2)$")
_MODEL_BASES = {"Model": "django/sqlalchemy", "Base": "sqlalchemy", "DeclarativeBase": "sqlalchemy",
                "SQLModel": "sqlmodel", "Document": "odm", "BaseModel": "pydantic"}
_CONFIG_HOLDERS = ("config", "settings", "conf", "app_settings")


def _str(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):  # f"{PREFIX}/x": keep the literal parts
        return None
    return None


def dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr}" if base else ""
    return ""


def _kw(call: ast.Call, name: str) -> ast.AST | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def expr_ref(node: ast.AST | None) -> str:
    """A non-literal prefix or path as a constant reference: ``config:NAME`` for
    ``app.config["NAME"]`` / ``settings.NAME``, ``const:dotted.name`` otherwise."""
    if node is None:
        return ""
    if isinstance(node, ast.JoinedStr):
        return _format_ref(node)
    if isinstance(node, ast.Subscript) and (key := _str(node.slice)):
        holder = dotted(node.value).rsplit(".", 1)[-1].lower()
        if holder in _CONFIG_HOLDERS:
            return f"config:{key}"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
            and node.func.attr == "get" and node.args and (key := _str(node.args[0])):
        holder = dotted(node.func.value).rsplit(".", 1)[-1].lower()
        if holder in _CONFIG_HOLDERS:
            return f"config:{key}"
    name = dotted(node)
    if not name:
        return ""
    head, _, tail = name.rpartition(".")
    if head and head.rsplit(".", 1)[-1].lower() in _CONFIG_HOLDERS:
        return f"config:{tail}"
    return f"const:{name}"


def _format_ref(node: ast.JoinedStr) -> str:
    """``f"/{Endpoint.healthz}"``, ``f"{settings.API_PREFIX}/users"``: ``fmt:`` and the
    parts as JSON (literal text, or a constant reference to resolve); empty when a part
    is not a plain name (a call, an expression)."""
    parts: list[list[str]] = []
    for value in node.values:
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            parts.append(["s", value.value])
        elif isinstance(value, ast.FormattedValue) and value.format_spec is None \
                and value.conversion in (-1, ord("s")) \
                and (ref := expr_ref(value.value)) and not ref.startswith("fmt:"):
            parts.append(["e", ref])
        else:
            return ""
    return "fmt:" + json.dumps(parts) if any(k == "e" for k, _ in parts) else ""


_REGEX_GROUP = re.compile(r"\((?:\?P<(\w+)>)?[^()]*\)")


def _tornado_path(pattern: str) -> str | None:
    """A Tornado URL pattern as a route path: ``/task/(.+)`` -> ``/task/{param}``,
    ``/login/?`` -> ``/login``; None for a catch-all (``.*``) or no path at all."""
    path = pattern.removeprefix("^").removesuffix("$").removesuffix("/?")
    path = _REGEX_GROUP.sub(lambda m: "{" + (m.group(1) or "param") + "}", path)
    if not path.startswith("/") or re.search(r"[\\*+?\[\]|]", path):
        return None
    return path or "/"


def _handler(node: ast.AST | None) -> str:
    """The dotted name of a view: ``views.detail``, ``Detail.as_view()`` -> ``Detail``."""
    if isinstance(node, ast.Call):
        name = dotted(node.func)
        return name.removesuffix(".as_view") if name.endswith(".as_view") else name
    return dotted(node) if node is not None else ""


def _methods(call: ast.Call, default: str) -> list[str]:
    node = _kw(call, "methods")
    if isinstance(node, ast.List | ast.Tuple | ast.Set):
        found = [m.upper() for e in node.elts if (m := _str(e))]
        return found or [default]
    return [default]


def _django_path(raw: str, regex: bool) -> str:
    if regex:
        raw = raw.lstrip("^").rstrip("$")
        raw = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", raw)
        raw = re.sub(r"\\(.)", r"\1", raw)
    return raw


def _router_table(node: ast.AST, known: dict[str, list[tuple[str, str]]]
                  ) -> list[tuple[str, str]]:
    """``[{"router": users.router, "prefix": "/users"}, ...]`` as (router, prefix) pairs;
    ``known`` are the tables assigned before (``base_routers + [...]``)."""
    if isinstance(node, ast.Name):
        return known.get(node.id, [])
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _router_table(node.left, known) + _router_table(node.right, known)
    if not isinstance(node, ast.List | ast.Tuple):
        return []
    out: list[tuple[str, str]] = []
    for e in node.elts:
        if not isinstance(e, ast.Dict):
            continue
        entry = {_str(k): v for k, v in zip(e.keys, e.values, strict=True) if k is not None}
        router = entry.get("router")
        if router is not None and dotted(router):
            out.append((dotted(router), _str(entry.get("prefix")) or ""))
    return out


_GENERIC_VIEW_METHOD = re.compile(
    r"_*(get|post|put|patch|delete|head|options|dispatch|render|render_to_response|"
    r"get_context_data|get_template_names|get_queryset|get_object|form_valid|form_invalid|"
    r"init|call)_*")


class _Reader(ast.NodeVisitor):
    def __init__(self, facts: StructureFacts, is_urls: bool, model_file: bool) -> None:
        self.f = facts
        self.is_urls = is_urls
        self.model_file = model_file
        self.routers: dict[str, RouterDecl] = {}
        self.router_tables: dict[str, list[tuple[str, str]]] = {}
        self.url_lists: dict[str, ast.expr] = {}  # a URLconf's lists of paths, by name
        self._class: list[str] = []
        self._func: list[str] = []

    # imports and constants ---------------------------------------------------------------
    def visit_Import(self, node: ast.Import) -> None:
        for a in node.names:
            self.f.imports.append(ImportDecl(a.name, ((a.asname or a.name, "*"),)))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        names = tuple((a.asname or a.name, a.name) for a in node.names)
        self.f.imports.append(ImportDecl(node.module or "", names, node.level))

    def _constant(self, target: ast.AST, value: ast.AST) -> None:
        s = _str(value)
        if s is None or not isinstance(target, ast.Name) or self._func:
            return
        name = target.id
        if self._class:
            self.f.constants.setdefault(name, s)
            self.f.constants[f"{self._class[-1]}.{name}"] = s
        else:
            self.f.constants[name] = s

    def visit_Assign(self, node: ast.Assign) -> None:
        for t in node.targets:
            self._constant(t, node.value)
            if isinstance(t, ast.Name) and isinstance(node.value, ast.Call):
                self._router(t.id, node.value)
            if isinstance(t, ast.Name) and t.id == "urlpatterns":
                self._urlpatterns(node.value, "")
            elif (isinstance(t, ast.Name) and self.is_urls and not (self._class or self._func)
                  and isinstance(node.value, ast.List | ast.Tuple | ast.BinOp)):
                self.url_lists[t.id] = node.value  # include(list_patterns) reads it
            if isinstance(node.value, (ast.List, ast.Tuple)) and self._tornado():
                self._route_table(node.value)
            elif isinstance(node.value, (ast.List, ast.Tuple)) and self._flask():
                self._route_table(node.value, classes_only=True)
            if isinstance(t, ast.Name) and t.id == "template_name" and (s := _str(node.value)):
                self._render(s)
            if isinstance(t, ast.Name) and not isinstance(node.value, ast.Name) and (
                    table := _router_table(node.value, self.router_tables)):
                self.router_tables[t.id] = table
        self.generic_visit(node)

    def _tornado(self) -> bool:
        return any(i.spec == "tornado" or i.spec.startswith("tornado.") for i in self.f.imports)

    def _flask(self) -> bool:
        return any(i.spec.split(".", 1)[0] in ("flask", "flask_restful", "flask_restx")
                   for i in self.f.imports)

    def _route_table(self, value: ast.List | ast.Tuple, classes_only: bool = False) -> None:
        """Tornado's URL table: ``[(r"/workers", WorkersView), url(r"/task/(.+)",
        TaskView, name="task")]``; each handler class serves the verbs it defines. A Flask
        module's table of ``("/tasks/<task_id>", TaskResource)`` pairs, registered by a
        loop or a helper, is read the same way (``classes_only``: a pair whose second
        item is a class name, not a menu's ``("/admin", "Admin")``)."""
        for entry in value.elts:
            if isinstance(entry, ast.Call) and dotted(entry.func).rsplit(".", 1)[-1] in (
                    "url", "URLSpec"):
                args = entry.args
            elif isinstance(entry, ast.Tuple):
                args = entry.elts
            else:
                continue
            if len(args) < 2 or (pattern := _str(args[0])) is None:
                continue
            if classes_only and not (pattern.startswith("/") and isinstance(
                    args[1], ast.Name | ast.Attribute) and _handler(args[1]).rsplit(
                        ".", 1)[-1][:1].isupper()):
                continue
            path = _tornado_path(pattern)
            if path is not None:
                self.f.routes.append(RouteDecl("ANY", path, "", "", entry.lineno,
                                               _handler(args[1])))

    def visit_For(self, node: ast.For) -> None:
        """``for spec in ROUTERS: app.include_router(**spec)`` over a list of
        ``{"router": ..., "prefix": ...}``: each entry is a mount."""
        table = _router_table(node.iter, self.router_tables)
        if table and isinstance(node.target, ast.Name):
            loop_var = node.target.id
            for stmt in node.body:
                for call in ast.walk(stmt):
                    if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                            and call.func.attr == "include_router"
                            and any(k.arg is None and isinstance(k.value, ast.Name)
                                    and k.value.id == loop_var for k in call.keywords)):
                        for child, prefix in table:
                            self.f.mounts.append(MountDecl(dotted(call.func.value), child,
                                                           prefix, "", call.lineno))
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self._constant(node.target, node.value)
            if isinstance(node.target, ast.Name) and isinstance(node.value, ast.Call):
                self._router(node.target.id, node.value)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        if isinstance(node.target, ast.Name) and node.target.id == "urlpatterns":
            self._urlpatterns(node.value, "")
        self.generic_visit(node)

    def _router(self, name: str, call: ast.Call) -> None:
        factory = dotted(call.func).rsplit(".", 1)[-1]
        if factory in _RESOURCE_APIS:
            self._resource_api(name, factory, call)
            return
        if factory not in _ROUTER_FACTORIES:
            return
        kind, kw = _ROUTER_FACTORIES[factory]
        node = _kw(call, kw) if kw else None
        router = RouterDecl(name, kind, _str(node) or "", "" if _str(node) is not None
                            else expr_ref(node))
        self.routers[name] = router
        self.f.routers.append(router)

    def _resource_api(self, name: str, factory: str, call: ast.Call) -> None:
        """Flask-RESTful / Flask-RESTX: ``Api(bp, prefix=...)`` is a router mounted on the
        blueprint or app it is given; ``Namespace(name, path=...)`` a router of its own,
        mounted by ``api.add_namespace``."""
        if factory == "Namespace":
            node = _kw(call, "path")
            own = _str(node)
            if own is None and len(call.args) > 0 and (first := _str(call.args[0])):
                own = "/" + first.strip("/")
            router = RouterDecl(name, "namespace", own or "")
        else:
            router = RouterDecl(name, "restful", _str(_kw(call, "prefix")) or "")
            parent = call.args[0] if call.args else _kw(call, "app")
            if parent is not None and dotted(parent):
                self.f.mounts.append(MountDecl(dotted(parent), name, "", "", call.lineno))
        self.routers[name] = router
        self.f.routers.append(router)

    # definitions ---------------------------------------------------------------------------
    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for deco in node.decorator_list:  # Flask-RESTX: @ns.route("/x") on a Resource
            self._decorator_route(deco, node.name, class_view=True)
        bases = [dotted(b) for b in node.bases]
        short = {b.rsplit(".", 1)[-1] for b in bases}
        framework = next((_MODEL_BASES[b] for b in short if b in _MODEL_BASES), "")
        table = ""
        for stmt in node.body:
            if isinstance(stmt, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == "__tablename__" for t in stmt.targets):
                table = _str(stmt.value) or ""
                framework = framework or "sqlalchemy"
        if not framework and self.model_file and any(b.endswith(("Model", "Base"))
                                                     for b in short):
            framework = "orm"
        if framework:
            if framework == "django/sqlalchemy":
                framework = "sqlalchemy" if any(b.startswith("db.") for b in bases) else "django"
            self.f.models.append(ModelDecl(node.name, table, framework))
        self._class.append(node.name)
        self.generic_visit(node)
        self._class.pop()

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for deco in node.decorator_list:
            self._decorator_route(deco, node.name)
        self._func.append(node.name)
        self.generic_visit(node)
        self._func.pop()

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._function(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._function(node)

    def _decorator_route(self, deco: ast.AST, handler: str, *, class_view: bool = False) -> None:
        if not isinstance(deco, ast.Call) or not isinstance(deco.func, ast.Attribute):
            return
        attr = deco.func.attr
        first = deco.args[0] if deco.args else (_kw(deco, "path") or _kw(deco, "rule"))
        path = _str(first)
        if class_view:  # a class's methods (get, post, ...) say which verbs it serves
            if attr != "route" or path is None:
                return
            methods = ["ANY"]
        elif attr in ("route", "api_route"):
            methods = _methods(deco, "GET")
        elif attr in _METHODS or attr == "websocket":
            methods = ["WS" if attr == "websocket" else attr.upper()]
        else:
            return
        owner = dotted(deco.func.value)
        for m in methods:
            self.f.routes.append(RouteDecl(m, path if path is not None else "", owner,
                                           "" if path is not None else expr_ref(first),
                                           deco.lineno, handler))

    # calls: mounts, url rules, renders, UI text ------------------------------------------
    def _render(self, template: str) -> None:
        """A template rendered here, with the view that renders it: the enclosing
        function, or the class of a method with a generic name (``get``,
        ``get_context_data``) or of a ``template_name`` attribute."""
        self.f.renders.append(template)
        funcs = [f for f in self._func if not _GENERIC_VIEW_METHOD.fullmatch(f)]
        scope = funcs[-1] if funcs else self._class[-1] if self._class else ""
        if scope:
            self.f.render_scopes[template] = add_names(
                self.f.render_scopes.get(template, ""), scope)

    def visit_Constant(self, node: ast.Constant) -> None:
        # a template handed to any helper (FormHelper(Form, "auth/login.html"), ...)
        if isinstance(node.value, str) and _TEMPLATE_PATH.match(node.value):
            self._render(node.value)

    def visit_Call(self, node: ast.Call) -> None:
        func = dotted(node.func)
        short = func.rsplit(".", 1)[-1]
        if isinstance(node.func, ast.Attribute):
            self._method_call(node, node.func.attr, dotted(node.func.value))
        if short in _RENDER_CALLS:
            for arg in [*node.args[:2], _kw(node, "template_name"), _kw(node, "name")]:
                s = _str(arg)
                if s and _TEMPLATE_EXT.search(s):
                    self._render(s)
                    break
        if short in _GETTEXT and node.args and (s := _str(node.args[0])):
            self.f.ui_text.append(s)
        self._helper_routes(node)
        self.generic_visit(node)

    def _method_call(self, node: ast.Call, attr: str, owner: str) -> None:
        if attr == "register_blueprint" and node.args:
            prefix = _kw(node, "url_prefix")
            self.f.mounts.append(MountDecl(owner, dotted(node.args[0]), _str(prefix) or "",
                                           "" if _str(prefix) is not None else expr_ref(prefix),
                                           node.lineno))
        elif attr == "include_router" and (node.args or _kw(node, "router")):
            child = node.args[0] if node.args else _kw(node, "router")
            prefix = _kw(node, "prefix")
            assert child is not None
            self.f.mounts.append(MountDecl(owner, dotted(child), _str(prefix) or "",
                                           "" if _str(prefix) is not None else expr_ref(prefix),
                                           node.lineno))
        elif attr == "mount" and len(node.args) >= 2 and (p := _str(node.args[0])) is not None:
            self.f.mounts.append(MountDecl(owner, dotted(node.args[1]), p, "", node.lineno))
        elif attr == "add_resource" and len(node.args) >= 2:
            # Flask-RESTful: api.add_resource(Handler, "/a", "/b"); the class's methods
            # (get, post, ...) say which verbs it serves
            for arg in node.args[1:]:
                if (p := _str(arg)) is not None:
                    self.f.routes.append(RouteDecl("ANY", p, owner, "", node.lineno,
                                                   _handler(node.args[0])))
        elif attr == "add_namespace" and node.args:
            path = _kw(node, "path")
            self.f.mounts.append(MountDecl(owner, dotted(node.args[0]),
                                           _str(path) or "", "", node.lineno))
        elif attr == "add_url_rule" and node.args and (p := _str(node.args[0])) is not None:
            for m in _methods(node, "ANY"):
                self.f.routes.append(RouteDecl(m, p, owner, "", node.lineno,
                                               _handler(_kw(node, "view_func"))))

    def _helper_routes(self, node: ast.Call) -> None:
        """``register_view(bp, routes=['/a', '/b'], view_func=...)``: a helper handed a
        router this file created, with a list of rules."""
        if not node.args or not isinstance(node.args[0], ast.Name):
            return
        if node.args[0].id not in self.routers:
            return
        rules = _kw(node, "routes") or _kw(node, "rules") or _kw(node, "urls")
        if not isinstance(rules, ast.List | ast.Tuple):
            return
        for e in rules.elts:
            if (p := _str(e)) is not None and p.startswith("/"):
                for m in _methods(node, "ANY"):
                    self.f.routes.append(RouteDecl(m, p, node.args[0].id, "", node.lineno,
                                                   _handler(_kw(node, "view_func"))))

    # django url modules ---------------------------------------------------------------------
    def _urlpatterns(self, value: ast.AST, prefix: str) -> None:
        if isinstance(value, ast.BinOp):
            self._urlpatterns(value.left, prefix)
            self._urlpatterns(value.right, prefix)
            return
        if not isinstance(value, ast.List | ast.Tuple):
            return
        self.f.prefix_unresolved = True
        for e in value.elts:
            if not isinstance(e, ast.Call):
                continue
            fn = dotted(e.func).rsplit(".", 1)[-1]
            # path('a/', view) or path(route='a/', view=view); url(regex=..., view=...)
            first = e.args[0] if e.args else (_kw(e, "route") or _kw(e, "regex"))
            raw = _str(first) if first is not None else None
            if fn not in ("path", "re_path", "url") or raw is None:
                continue
            here = prefix + _django_path(raw, fn != "path")
            target = e.args[1] if len(e.args) > 1 else _kw(e, "view")
            if isinstance(target, ast.Call) and dotted(target.func).endswith("include"):
                inner = target.args[0] if target.args else None
                if isinstance(inner, ast.Name) and inner.id in self.url_lists:
                    inner = self.url_lists.pop(inner.id)  # (read once: no cycle)
                if isinstance(inner, ast.List | ast.Tuple | ast.BinOp):
                    self._urlpatterns(inner, here)
                elif (spec := _str(inner) if not isinstance(inner, ast.Attribute)
                      else dotted(inner)) is not None:
                    # include("shop.orders.urls") or, the module imported,
                    # include(shop.orders.urls)
                    self.f.mounts.append(MountDecl("urlpatterns", f"module:{spec}", "/" + here,
                                                   "", e.lineno))
                continue
            handler = _handler(target)
            self.f.routes.append(RouteDecl("ANY", "/" + here, "", "", e.lineno, handler))


def _loose_django_paths(tree: ast.AST, facts: StructureFacts) -> None:
    """A URLconf's ``path()`` entries outside ``urlpatterns`` itself: lists built on the
    side and added by a helper (``i18n_urls += decorated_patterns([login_required],
    path("me/download", ...))``, ``i18n_urls.append(path(...))``). Their prefix is what
    includes them, which the module does not say: routes under an unresolved prefix."""
    seen = {r.line for r in facts.routes}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or node.lineno in seen:
            continue
        fn = dotted(node.func).rsplit(".", 1)[-1]
        first = node.args[0] if node.args else (_kw(node, "route") or _kw(node, "regex"))
        target = node.args[1] if len(node.args) > 1 else _kw(node, "view")
        if fn not in ("path", "re_path") or first is None or target is None or (
                raw := _str(first)) is None:
            continue
        if isinstance(target, ast.Call) and dotted(target.func).endswith("include"):
            continue
        facts.prefix_unresolved = True
        facts.routes.append(RouteDecl("ANY", "/" + _django_path(raw, fn == "re_path"), "", "",
                                      node.lineno, _handler(target)))


def read(path: str, text: str, facts: StructureFacts) -> None:
    """Fill ``facts`` from a Python file (nothing when it does not parse)."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return
    parts = PurePosixPath(path).parts
    reader = _Reader(facts, parts[-1] in ("urls.py", "routes.py"),
                     any(p.startswith(("model", "schema", "entit")) for p in parts))
    reader.visit(tree)
    if reader.is_urls:
        _loose_django_paths(tree, facts)
    facts.renders = list(dict.fromkeys(facts.renders))
    facts.ui_text.extend(label_strings(text))  # form labels, flash messages, verbose names
    facts.ui_text = list(dict.fromkeys(t for t in facts.ui_text if t.strip()))

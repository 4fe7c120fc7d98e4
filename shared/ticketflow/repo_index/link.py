"""Resolve the structure facts of every file of a repository against each other.

Out come the repository's graphs: which file imports which, which file mounts the
router another file declares, which template or component a file renders; and every
route with its whole path (mount prefixes, router prefixes and constants applied).
A route whose prefix is set where the code cannot be read (a Django project's url
module, a NestJS global prefix read from configuration, a mount through a computed
expression) is kept with ``resolved=False``: lookups then accept it under a prefix.

Pure: facts in, :class:`Linked` out.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from ticketflow.repo_index.extract import normalize_path
from ticketflow.repo_index.structure import MountDecl, StructureFacts, add_names

__all__ = ["FullRoute", "Linked", "link"]

_TS_EXT = (".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts", ".vue", ".svelte")
_MAX_DEPTH = 6


@dataclass(frozen=True)
class FullRoute:
    path: str  # the file declaring the route
    method: str
    route: str  # the whole route path, params as {name}
    resolved: bool
    line: int = 0


@dataclass
class Linked:
    edges: set[tuple[str, str, str]] = field(default_factory=set)  # (src, dst, kind)
    routes: list[FullRoute] = field(default_factory=list)
    # (src, dst) of a ``renders`` edge -> the views in src that render dst
    via: dict[tuple[str, str], str] = field(default_factory=dict)


class _Resolver:
    def __init__(self, facts: Mapping[str, StructureFacts],
                 symbols: Mapping[str, list[str]]) -> None:
        self.facts = facts
        self.symbols = symbols
        self.paths = set(facts)
        self.py_modules: dict[str, list[str]] = defaultdict(list)
        self.by_stem: dict[str, list[str]] = defaultdict(list)
        for p in sorted(self.paths, key=lambda p: (p.count("/"), p)):
            pp = PurePosixPath(p)
            if pp.suffix == ".py":
                parts = list(pp.with_suffix("").parts)
                if parts[-1] == "__init__":
                    parts = parts[:-1]
                for i in range(len(parts)):
                    self.py_modules[".".join(parts[i:])].append(p)
            if pp.suffix in _TS_EXT:
                self.by_stem[pp.stem].append(p)
                if pp.stem == "index":
                    self.by_stem[pp.parent.name].append(p)
        self.global_constants: dict[str, list[str]] = defaultdict(list)
        for f in facts.values():
            for k, v in f.constants.items():
                self.global_constants[k].append(v)
        self._import_cache: dict[tuple[str, str, int], str | None] = {}

    # -- files ---------------------------------------------------------------------------
    def module(self, src: str, spec: str, level: int = 0) -> str | None:
        key = (src, spec, level)
        if key not in self._import_cache:
            self._import_cache[key] = self._module(src, spec, level)
        return self._import_cache[key]

    def _module(self, src: str, spec: str, level: int) -> str | None:
        if src.endswith(".py") or level:
            return self._python(src, spec, level)
        if spec.startswith("."):
            base = posixpath.normpath(posixpath.join(posixpath.dirname(src), spec))
            return self._ts_file(base)
        if "/" not in spec:
            return None  # a package ("express", "react")
        head, rest = spec.split("/", 1)
        if head.startswith("@") and head[1:] in ("types",):
            return None
        # aliases: "@src/x", "@controllers/x", "~/x", "src/x"
        for candidate in (rest, spec.lstrip("@~/")):
            hit = self._ts_suffix(candidate, head.lstrip("@~"))
            if hit:
                return hit
        return None

    def _ts_file(self, base: str) -> str | None:
        if base in self.paths:
            return base
        for ext in _TS_EXT:
            if base + ext in self.paths:
                return base + ext
        for ext in _TS_EXT:
            if f"{base}/index{ext}" in self.paths:
                return f"{base}/index{ext}"
        return None

    def _ts_suffix(self, rest: str, alias: str) -> str | None:
        wanted = rest.rstrip("/")
        hits = [p for p in self.by_stem.get(PurePosixPath(wanted).name, [])
                if _without_ext(p).endswith("/" + wanted) or _without_ext(p) == wanted
                or _without_ext(p).endswith("/" + wanted + "/index")]
        if not hits:
            return None
        preferred = [p for p in hits if f"/{alias}/" in f"/{p}"]
        return (preferred or hits)[0]

    def _python(self, src: str, spec: str, level: int) -> str | None:
        if level:
            base = PurePosixPath(src).parent
            for _ in range(level - 1):
                base = base.parent
            rel = str(base / spec.replace(".", "/")) if spec else str(base)
            for cand in (f"{rel}.py", f"{rel}/__init__.py"):
                if cand in self.paths:
                    return cand
            return None
        hits = self.py_modules.get(spec)
        return hits[0] if hits else None

    # -- names -----------------------------------------------------------------------------
    def binds(self, path: str, name: str) -> bool:
        """Does ``path`` define or import ``name`` (a router, a constant, an import)?"""
        f = self.facts.get(path)
        if f is None:
            return False
        return (any(r.name == name for r in f.routers) or name in f.constants
                or any(local == name for imp in f.imports for local, _ in imp.names))

    def resolve_name(self, src: str, name: str, depth: int = 0) -> tuple[str, str] | None:
        """The (file, name) that ``name`` in ``src`` refers to, following imports; ``*``
        as the name means the module itself."""
        if depth > _MAX_DEPTH or src not in self.facts:
            return None
        f = self.facts[src]
        if any(r.name == name for r in f.routers) or name in f.constants:
            return src, name
        head, _, attr = name.partition(".")
        for imp in f.imports:
            for local, orig in imp.names:
                if local != head:
                    continue
                target = self.module(src, imp.spec, imp.level)
                if orig == "*":
                    if target is None:
                        return None
                    return self.resolve_name(target, attr, depth + 1) if attr else (target, "*")
                if src.endswith(".py"):
                    sub = self.module(src, f"{imp.spec}.{orig}" if imp.spec else orig, imp.level)
                    if sub is not None and (target is None or not self.binds(target, orig)):
                        return self.resolve_name(sub, attr, depth + 1) if attr else (sub, "*")
                if target is None:
                    return None
                wanted = self.default_export(target) if orig == "default" else orig
                if wanted is None:
                    return target, "default"
                inner = f"{wanted}.{attr}" if attr else wanted
                return self.resolve_name(target, inner, depth + 1) or (target, inner)
        return src, name

    def default_export(self, path: str) -> str | None:
        f = self.facts.get(path)
        return f.constants.get("export default") if f else None

    def constant(self, src: str, expr: str, depth: int = 0) -> str | None:
        """The string value of ``const:a.b`` / ``config:KEY`` seen from ``src``."""
        kind, _, name = expr.partition(":")
        if kind == "fmt" and depth <= _MAX_DEPTH:  # an f-string: each part resolved
            out = []
            for part_kind, value in json.loads(name):
                text = value if part_kind == "s" else self.constant(src, value, depth + 1)
                if text is None:
                    return None
                out.append(text)
            return "".join(out)
        if kind == "config":
            values = self.global_constants.get(name, [])
            return values[0] if len(set(values)) == 1 else (values[0] if values else None)
        if kind != "const" or depth > _MAX_DEPTH:
            return None
        f = self.facts.get(src)
        if f is not None and name in f.constants:
            return f.constants[name]
        head, _, rest = name.partition(".")
        target = self.resolve_name(src, head)
        if target is not None and target[0] != src:
            key = f"{target[1]}.{rest}" if rest else target[1]
            tf = self.facts.get(target[0])
            if tf is not None and key in tf.constants:
                return tf.constants[key]
        values = self.global_constants.get(name, [])
        return values[0] if len(set(values)) == 1 else None


def _without_ext(path: str) -> str:
    return re.sub(r"\.[^./]+$", "", path)


def _join(*parts: str) -> str:
    return normalize_path("/".join(p.strip("/") for p in parts if p and p.strip("/")) or "/")


def _sole_router(r: _Resolver, child: tuple[str, str]) -> tuple[str, str]:
    """A mounted module, its default export or a factory of it (``module.exports =
    function () { const router = express.Router(); ... }``) means the one router the
    module declares, when it declares one."""
    path, name = child
    f = r.facts.get(path)
    if f is None or not _JS.search(path) or any(d.name == name for d in f.routers):
        return child
    routers = {d.name.removeprefix("this.") for d in f.routers}  # (one router, two spellings)
    return (path, routers.pop()) if len(routers) == 1 else child



class _Router:
    """Computes every prefix a (file, router) is reachable under."""

    def __init__(self, r: _Resolver) -> None:
        self.r = r
        self.mounted_by: dict[tuple[str, str], list[tuple[str, str, str | None]]] = \
            defaultdict(list)
        for src, f in r.facts.items():
            for m in f.mounts:
                prefix: str | None = m.prefix
                if m.prefix_expr:
                    prefix = r.constant(src, m.prefix_expr)
                child = self.child_of(src, m)
                if child is None:
                    continue
                self.mounted_by[child].append((src, m.parent, prefix))

    def child_of(self, src: str, m: MountDecl) -> tuple[str, str] | None:
        """The (file, router) a mount in ``src`` mounts, when the index can tell."""
        if m.child.startswith("module:"):
            target = self.r.module(src, m.child[7:])
            if target is None:
                return None
            return _sole_router(self.r, (target, "urlpatterns" if target.endswith(".py")
                                         else "default"))
        child = self.r.resolve_name(src, m.child)
        return _sole_router(self.r, child) if child is not None else None

    def prefixes(self, src: str, owner: str, depth: int = 0, *,
                 parent: bool = False) -> list[tuple[str, bool]]:
        """(prefix, resolved) pairs for routes declared on ``owner`` in ``src``. An
        unknown mount parent (a function's ``app`` argument) is taken as the root; an
        unknown route owner leaves the prefix unresolved."""
        if depth > _MAX_DEPTH:
            return [("", False)]
        f = self.r.facts[src]
        decl = next((d for d in f.routers if d.name == owner), None)
        own = decl.prefix if decl else ""
        resolved = True
        if decl and decl.prefix_expr and not decl.prefix_expr.startswith("version:"):
            value = self.r.constant(src, decl.prefix_expr)
            own, resolved = (value, True) if value is not None else ("", False)
        out: list[tuple[str, bool]] = []
        for parent_src, parent_name, prefix in self.mounted_by.get((src, owner), []):
            target = self.r.resolve_name(parent_src, parent_name) if parent_name else None
            ups = (self.prefixes(target[0], target[1], depth + 1, parent=True)
                   if target is not None
                   and target[0] in self.r.facts and target != (src, owner) else [("", True)])
            for up, ok in ups:
                out.append((_join(up, prefix or "", own), ok and resolved and prefix is not None))
        if not out:
            known_root = decl is not None and decl.kind == "app"
            out.append((_join(own), resolved and (known_root or (decl is None and parent))))
        if decl and decl.kind == "nest":
            version = decl.prefix_expr.removeprefix("version:") if decl.prefix_expr else ""
            out = [(p, False) for p, _ in out]
            if version:
                out += [(_join(f"v{version.lstrip('v')}", p), False) for p, _ in out]
        return out


def link(facts: Mapping[str, StructureFacts],
         symbols: Mapping[str, list[str]] | None = None) -> Linked:
    """The repository's graphs and full routes from every file's facts."""
    r = _Resolver(facts, symbols or {})
    out = Linked()
    for src, f in facts.items():
        for imp in f.imports:
            target = r.module(src, imp.spec, imp.level)
            if target is None and src.endswith(".py"):
                for _, orig in imp.names:
                    sub = r.module(src, f"{imp.spec}.{orig}" if imp.spec else orig, imp.level)
                    if sub is not None and sub != src:
                        out.edges.add((src, sub, "import"))
            if target is not None and target != src:
                out.edges.add((src, target, "import"))
        for name in f.renders:
            for dst in _render_targets(r, name):
                if dst != src:
                    out.edges.add((src, dst, "renders"))
                    if scope := f.render_scopes.get(name):
                        out.via[(src, dst)] = add_names(out.via.get((src, dst), ""), scope)
    router = _Router(r)
    for (child_src, _), mounts in router.mounted_by.items():
        for parent_src, _, _ in mounts:
            if parent_src != child_src:
                out.edges.add((parent_src, child_src, "mounts"))
    for src, f in facts.items():
        cache: dict[str, list[tuple[str, bool]]] = {}
        for route in f.routes:
            path: str | None = route.path
            if route.path_expr:
                path = r.constant(src, route.path_expr)
                if path is None:
                    continue
            if route.owner:
                if route.owner not in cache:
                    owner = r.resolve_name(src, route.owner)
                    cache[route.owner] = (router.prefixes(*owner) if owner is not None
                                          and owner[0] in facts else [("", False)])
                prefixes = cache[route.owner]
            else:
                prefixes = [("", not f.prefix_unresolved)]
                if (src, "urlpatterns") in router.mounted_by:
                    # a url module another includes ("path('orders/', include(...))"):
                    # its routes under every prefix that reaches it, as well as on their own
                    if "urlpatterns" not in cache:
                        cache["urlpatterns"] = router.prefixes(src, "urlpatterns")
                    prefixes = prefixes + [(p, False) for p, _ in cache["urlpatterns"] if p]
            for prefix, ok in prefixes:
                full = _join(prefix, path or "")
                out.routes.append(FullRoute(src, route.method, full,
                                            ok and not f.prefix_unresolved, route.line))
    out.routes.extend(_handler_mounts(r, router))
    out.routes = list(dict.fromkeys(out.routes))
    for src, f in facts.items():  # a url module or router file -> its handlers' files
        for route in f.routes:
            if not route.handler or route.handler[:1] == "<":
                continue
            handler = r.resolve_name(src, route.handler)
            if handler is not None and handler[0] != src and handler[0] in facts:
                out.edges.add((src, handler[0], "routes"))
    return out


_JS = re.compile(r"\.(?:[cm]?[jt]s|[jt]sx)$")


def _handler_mounts(r: _Resolver, router: _Router) -> Iterable[FullRoute]:
    """Express's ``app.use('/metrics', handler)`` serves every method at its path: the
    path of a mount whose child declares no route the index followed (a middleware, or a
    router a factory builds) is a route (``ANY``) of the mounting file."""
    followed = {t for src, f in r.facts.items() for name in
                [*(x.owner for x in f.routes), *(m.parent for m in f.mounts)]
                if (t := r.resolve_name(src, name)) is not None}
    for src, f in r.facts.items():
        if not _JS.search(src):
            continue
        for m in f.mounts:
            if not m.prefix.strip("/"):
                continue
            child = router.child_of(src, m)
            if child is not None and child in followed:
                continue
            parent = r.resolve_name(src, m.parent)
            ups = (router.prefixes(*parent, parent=True)
                   if parent is not None and parent[0] in r.facts else [("", True)])
            for up, ok in ups:
                yield FullRoute(src, "ANY", _join(up, m.prefix), ok and not f.prefix_unresolved,
                                m.line)


def _render_targets(r: _Resolver, name: str) -> Iterable[str]:
    """Files a render of ``name`` means: a template path, or a component's file."""
    if name[:1].isupper() and "/" not in name and "." not in name:
        return r.symbols.get(name, [])[:2]
    clean = name.lstrip("./")
    exact = [p for p in r.paths if p == clean or p.endswith("/" + clean)]
    if not exact and "." not in PurePosixPath(clean).name:  # res.render("users")
        exact = [p for p in r.paths
                 if re.sub(r"\.[^./]+$", "", p).endswith("/" + clean)
                 and any(d in f"/{p}" for d in ("/views/", "/templates/", "/pages/"))]
    templates = [p for p in exact if "/templates/" in f"/{p}" or "/views/" in f"/{p}"]
    return sorted(templates or exact, key=len)[:3]

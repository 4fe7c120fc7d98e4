"""Structure facts of a TypeScript / JavaScript file (see :mod:`.structure`), read with
regular expressions and a small bracket matcher (no type checker, no bundler config)."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

from ticketflow.repo_index.structure import (
    ImportDecl,
    ModelDecl,
    MountDecl,
    RouteDecl,
    RouterDecl,
    StructureFacts,
)

_ID = r"[A-Za-z_$][\w$]*"
# (patterns that open on a name start only where a name starts: inside a long run of word
# characters, a base64 image in a bundle, every position would scan the rest of the run)
_STR = r"""['"`]([^'"`\n]*)['"`]"""
# The clause never holds ; ( ) = or a quote, and is short: bounding it keeps a file of
# thousands of ``export interface`` lines (a generated .d.ts) linear, where ``.*?``
# scanned on to the end of the file from each of them.
_IMPORT_FROM = re.compile(
    rf"^\s*(?:import|export)\s+(?:type\s+)?([^;()='\"`]{{0,2000}}?)\s+from\s+{_STR}", re.M)
_COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)
_IMPORT_BARE = re.compile(rf"^\s*import\s+{_STR}", re.M)
_REQUIRE = re.compile(rf"(?:const|let|var)\s+({_ID}|\{{[^}}]*\}})\s*=\s*require\(\s*{_STR}\s*\)")
_DYNAMIC = re.compile(rf"\bimport\(\s*{_STR}\s*\)")
_CONST_STR = re.compile(rf"^\s*(?:export\s+)?(?:const|let|var)\s+({_ID})\s*(?::[^=\n]+)?=\s*{_STR}",
                        re.M)
_CONST_OBJ = re.compile(rf"^\s*(?:export\s+)?(?:const|let|var)\s+({_ID})\s*(?::[^=\n]+)?=\s*\{{",
                        re.M)
_ROUTER_NEW = re.compile(
    rf"(?:const|let|var)\s+({_ID})\s*(?::[^=\n]+)?=\s*(?:express\.)?(Router|express)\(\s*\)")
_CLASS_ROUTER = re.compile(rf"(?<![\w$])(?:public\s+|readonly\s+)*({_ID})\s*(?::\s*Router)?\s*=\s*"
                           rf"(?:express\.)?Router\(\s*\)")
_METHOD_CALL = re.compile(
    rf"(?<![\w$])((?:this\.)?{_ID}(?:\.{_ID})*)\s*\.\s*"
    rf"(get|post|put|patch|delete|all|options|head)\s*\(\s*(?:{_STR}|({_ID}(?:\.{_ID})+))\s*,")
_ROUTE_CHAIN = re.compile(rf"(?<![\w$])((?:this\.)?{_ID})\s*\.\s*route\(\s*{_STR}\s*\)((?:\s*\.\s*"
                          rf"(?:get|post|put|patch|delete|all)\s*\()+)")
# the mounted thing: a router or handler, or one a factory returns (``url()``)
_USE = re.compile(rf"(?<![\w$])((?:this\.)?{_ID}(?:\.{_ID})*)\s*\.\s*use\(\s*"
                  rf"(?:{_STR}|({_ID}(?:\.{_ID})+))"
                  rf"\s*,\s*(?:[^,()]*,\s*)*?({_ID}(?:\.{_ID})*)\s*(?:\(\s*\))?\s*\)")
_USE_REQUIRE = re.compile(rf"(?<![\w$])((?:this\.)?{_ID}(?:\.{_ID})*)\s*\.\s*use\(\s*{_STR}\s*,\s*"
                          rf"require\(\s*{_STR}\s*\)\s*(?:\([^()]*\)\s*)?\)")
# a chain of calls on an application or router (``app.disable(...).use(...).get(...)``):
# its head, and each call after the first
_CHAIN_HEAD = re.compile(rf"(?<![\w$.])((?:this\.)?{_ID})\s*\.\s*{_ID}\s*\(")
_CHAIN_NEXT = re.compile(rf"\s*\.\s*({_ID})\s*\(")
_CHAIN_OWNERS = frozenset({"app", "router", "server", "api", "this.app", "this.router"})
# decorators and comments may stand between a decorator and its class
_DECORATOR_LINES = r"(?:(?://[^\n]*|@[^\n]*)?\n\s*)*"
_NEST_CONTROLLER = re.compile(
    r"@Controller\(\s*(?:(['\"`])([^'\"`]*)\1|\{([^}]*)\})?\s*\)[ \t]*" + _DECORATOR_LINES
    + rf"export\s+(?:default\s+)?class\s+({_ID})")
_NEST_ROUTE = re.compile(r"@(Get|Post|Put|Patch|Delete|All|Options|Head)\(\s*(?:(['\"`])"
                         r"([^'\"`]*)\2)?\s*\)")
_NEST_GLOBAL = re.compile(rf"\.setGlobalPrefix\(\s*(?:{_STR}|({_ID}(?:\.{_ID})*))")
_JSX_ROUTE = re.compile(r"<Route\b([^>]*?)/?>", re.S)
_ROUTE_OBJ = re.compile(r"\bpath\s*:\s*(['\"`])([^'\"`]*)\1")
_ATTR = re.compile(r"\b(path|element|component|Component)\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|"
                   r"\{\s*<?\s*([A-Za-z_$][\w$.]*))")
_RENDER = re.compile(rf"\.\s*render\(\s*{_STR}")
_SEND_FILE = re.compile(r"sendFile\([^)]*?['\"`]([^'\"`]+\.html?)['\"`]")
_ENTITY = re.compile(rf"@Entity\(\s*(?:{_STR})?[^)]*\)[ \t]*" + _DECORATOR_LINES
                     + rf"export\s+(?:default\s+)?class\s+({_ID})")
# @nestjs/mongoose: @Schema() export class Cat
_NEST_SCHEMA = re.compile(r"@Schema\([^)]*\)[ \t]*" + _DECORATOR_LINES
                          + rf"export\s+(?:default\s+)?class\s+({_ID})")
_DRIZZLE = re.compile(rf"(?:const|let)\s+({_ID})\s*=\s*(?:pg|mysql|sqlite)Table\(\s*{_STR}")
_MONGOOSE = re.compile(rf"\bmodel(?:<[^>]*>)?\(\s*{_STR}")
_JSX_TEXT = re.compile(r">\s*([^<>{}\n][^<>{}]*?)\s*<")
_JSX_PROP = re.compile(r"\b(?:title|label|text|placeholder|alt|aria-label|tooltip|heading|"
                       r"header|description|buttonText|confirmText|cancelText|emptyText)\s*=\s*"
                       r"(?:\"([^\"]+)\"|'([^']+)'|\{\s*['\"`]([^'\"`{}$]+)['\"`]\s*\})")
_LETTER = re.compile(r"[A-Za-z]")
# string literals that read as words shown to people ("Update Profile", "No results"):
# object props of menus and route tables, JSX expressions, flash messages, form labels
_LABEL_STRING = re.compile(r"""(?<![\w$])(?:"([^"\n]{2,80})"|'([^'\n]{2,80})'|`([^`\n]{2,80})`)""")
_LABEL_CHARS = re.compile(r"[A-Za-z][A-Za-z0-9 ,.!?&'\u2019:()+-]*")
_NOT_LABEL = re.compile(r"^[a-z0-9]+(?:[-_.:/][a-z0-9]+)*$|^[a-z]+[A-Z]\w*$|^[A-Z0-9_]+$")
_JSX_FILE = re.compile(r"</[A-Za-z]|/>")


def _match(text: str, open_pos: int) -> int:
    """Index of the bracket closing the one at ``open_pos`` (strings skipped)."""
    pairs = {"{": "}", "[": "]", "(": ")"}
    stack = [pairs[text[open_pos]]]
    i = open_pos + 1
    while i < len(text) and stack:
        ch = text[i]
        if ch in "'\"`":
            end = text.find(ch, i + 1)
            while end > 0 and text[end - 1] == "\\":
                end = text.find(ch, end + 1)
            i = end if end > 0 else len(text)
        elif ch in pairs:
            stack.append(pairs[ch])
        elif ch == stack[-1]:
            stack.pop()
        i += 1
    return i - 1


_OBJ_ENTRY = re.compile(rf"\s*(?:({_ID})|{_STR})\s*:\s*")


def _object_constants(text: str, prefix: str, out: dict[str, str], depth: int = 0) -> None:
    """``{ a: '/x', b: { c: '/y' } }`` (``text`` without its braces) into dotted names."""
    i = 0
    while i < len(text) and depth < 6:
        m = _OBJ_ENTRY.match(text, i)
        if not m:
            nxt = text.find(",", i)
            if nxt < 0:
                return
            i = nxt + 1
            continue
        key = m.group(1) or m.group(2)
        j = m.end()
        if j < len(text) and text[j] in "'\"`":
            end = text.find(text[j], j + 1)
            if end < 0:
                return
            out[f"{prefix}.{key}"] = text[j + 1:end]
            i = end + 1
        elif j < len(text) and text[j] == "{":
            end = _match(text, j)
            _object_constants(text[j + 1:end], f"{prefix}.{key}", out, depth + 1)
            i = end + 1
        else:
            nxt = text.find(",", j)
            if nxt < 0:
                return
            i = nxt
        if i < len(text) and text[i] == ",":
            i += 1


def _imports(text: str, facts: StructureFacts) -> None:
    for m in _IMPORT_FROM.finditer(text):
        clause, spec = m.group(1), m.group(2)
        names: list[tuple[str, str]] = []
        clause = _COMMENT.sub("", clause).strip()
        if clause.startswith("*"):
            alias = re.search(rf"as\s+({_ID})", clause)
            names.append((alias.group(1) if alias else "*", "*"))
        else:
            braces = re.search(r"\{([^}]*)\}", clause)
            default = clause.split("{", 1)[0].strip().rstrip(",").strip()
            if default and re.fullmatch(_ID, default):
                names.append((default, "default"))
            if braces:
                for part in braces.group(1).split(","):
                    part = part.strip().removeprefix("type ").strip()
                    if not part:
                        continue
                    orig, _, renamed = part.partition(" as ")
                    names.append(((renamed or orig).strip(), orig.strip()))
        facts.imports.append(ImportDecl(spec, tuple(names)))
    for m in _IMPORT_BARE.finditer(text):
        facts.imports.append(ImportDecl(m.group(1)))
    for m in _REQUIRE.finditer(text):
        target = m.group(1)
        bound: tuple[tuple[str, str], ...] = ((target, "default"),)
        if target.startswith("{"):
            bound = tuple((n.strip(), n.strip()) for n in target.strip("{} ").split(",")
                          if n.strip())
        facts.imports.append(ImportDecl(m.group(2), bound))
    for m in _DYNAMIC.finditer(text):
        facts.imports.append(ImportDecl(m.group(1)))


_DEFAULT_EXPORT = re.compile(rf"^\s*export\s+default\s+(?:class\s+|function\s+|async\s+"
                             rf"function\s+)?({_ID})\b", re.M)


def _constants(text: str, facts: StructureFacts) -> None:
    if m := _DEFAULT_EXPORT.search(text):
        facts.constants["export default"] = m.group(1)
    for m in _CONST_STR.finditer(text):
        if "${" not in m.group(2):
            facts.constants[m.group(1)] = m.group(2)
    for m in _CONST_OBJ.finditer(text):
        start = m.end() - 1
        end = _match(text, start)
        if end - start < 20_000:
            _object_constants(text[start + 1:end], m.group(1), facts.constants)


def _ref(dotted: str | None) -> str:
    return f"const:{dotted}" if dotted else ""


def _chained_calls(text: str, owners: set[str]) -> Iterator[tuple[int, str]]:
    """``(offset, "app.use(...)")`` for each call after the first of a chain on one of
    ``owners``: the call as if written on the chain's head."""
    for m in _CHAIN_HEAD.finditer(text):
        if m.group(1) not in owners:
            continue
        end = _match(text, m.end() - 1)
        while (nxt := _CHAIN_NEXT.match(text, end + 1)) is not None:
            close = _match(text, nxt.end() - 1)
            yield nxt.start(), f"{m.group(1)}.{nxt.group(1)}({text[nxt.end():close]})"
            end = close


def _runtime_prefixed(path: str, facts: StructureFacts) -> str:
    """```${prefix}/x```: ``/x``, a prefix known only at run time (noted on ``facts``)."""
    if path.startswith("${") and "}/" in path:
        facts.prefix_unresolved = True
        return path[path.index("}/") + 1:]
    return path


def _express(text: str, facts: StructureFacts) -> None:
    for m in _ROUTER_NEW.finditer(text):
        kind = "app" if m.group(2) == "express" else "express"
        facts.routers.append(RouterDecl(m.group(1), kind))
    for m in _CLASS_ROUTER.finditer(text):
        facts.routers.append(RouterDecl(f"this.{m.group(1)}", "express"))
    _express_calls(text, facts)
    if ")" in text:
        # a chain on an application, a router, or anything a route was declared on
        # (``builderRoutes.get('/a', h).put('/a/:id', h)``)
        owners = set(_CHAIN_OWNERS) | {r.name for r in facts.routers} | {
            r.owner for r in facts.routes if r.owner and not r.owner.startswith("this.")}
        for offset, call in _chained_calls(text, owners):
            _express_calls(call, facts, line=text.count("\n", 0, offset) + 1)
    for m in _ROUTE_CHAIN.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        for method in re.findall(r"\.\s*(get|post|put|patch|delete|all)\s*\(", m.group(3)):
            facts.routes.append(RouteDecl(method.upper(), m.group(2), m.group(1), "", line))
    for m in _RENDER.finditer(text):
        facts.renders.append(m.group(1))
    for m in _SEND_FILE.finditer(text):
        facts.renders.append(m.group(1))


def _express_calls(text: str, facts: StructureFacts, line: int | None = None) -> None:
    """Routes (``app.get('/x', h)``) and mounts (``app.use('/x', router)``) in ``text``
    (all on ``line`` when given: one call of a chain)."""
    def line_at(pos: int) -> int:
        return line if line is not None else text.count("\n", 0, pos) + 1

    for m in _METHOD_CALL.finditer(text):
        owner, method = m.group(1), m.group(2).upper()
        if owner.split(".")[0] in ("res", "req", "axios", "http", "client", "api", "fetch",
                                   "cache", "map", "params", "headers", "searchParams"):
            continue
        path, expr = m.group(3), m.group(4)
        if path is not None:
            path = _runtime_prefixed(path, facts)
            if not path.startswith("/"):
                continue
        facts.routes.append(RouteDecl("ANY" if method == "ALL" else method, path or "", owner,
                                      _ref(expr) if path is None else "", line_at(m.start())))
    for m in _USE_REQUIRE.finditer(text):
        # app.use('/apps', require('./routes/apps')()): the module's router
        facts.mounts.append(MountDecl(m.group(1), f"module:{m.group(3)}",
                                      _runtime_prefixed(m.group(2), facts),
                                      "", line_at(m.start())))
    for m in _USE.finditer(text):
        prefix, expr, child = m.group(2), m.group(3), m.group(4)
        if child in ("express", "cors", "helmet", "morgan") or child.startswith("express."):
            continue
        if prefix is not None:
            prefix = _runtime_prefixed(prefix, facts)
        facts.mounts.append(MountDecl(m.group(1), child, prefix or "",
                                      _ref(expr) if prefix is None else "",
                                      line_at(m.start())))


# resourcejs: Resource(router, '/base', 'name', model).rest(...) serves the five REST
# routes of a Mongoose model
_RESOURCEJS = re.compile(rf"\b(?:new\s+)?[\w$]*Resource\(\s*({_ID})\s*,\s*{_STR}\s*,\s*{_STR}\s*,")
_RESOURCEJS_REST = re.compile(r"\)\s*\.\s*rest\(")


def _resourcejs(text: str, facts: StructureFacts) -> None:
    for m in _RESOURCEJS.finditer(text):
        close = _match(text, m.start() + m.group(0).index("("))
        if not _RESOURCEJS_REST.match(text, close):
            continue
        base = "/" + "/".join(p for p in (m.group(2).strip("/"), m.group(3).strip("/")) if p)
        one = f"{base}/:{m.group(3).strip('/')}Id"
        line = text.count("\n", 0, m.start()) + 1
        for method, route in (("GET", base), ("POST", base), ("GET", one), ("PUT", one),
                              ("PATCH", one), ("DELETE", one)):
            facts.routes.append(RouteDecl(method, route, m.group(1), "", line))


def _nest(text: str, facts: StructureFacts) -> None:
    controllers = list(_NEST_CONTROLLER.finditer(text))
    for i, m in enumerate(controllers):
        path = m.group(2) or ""
        version = ""
        if m.group(3):
            p = re.search(r"path\s*:\s*(['\"`])([^'\"`]*)\1", m.group(3))
            v = re.search(r"version\s*:\s*(['\"`])([^'\"`]*)\1", m.group(3))
            path = p.group(2) if p else ""
            version = v.group(2) if v else ""
        name = m.group(4)
        facts.routers.append(RouterDecl(name, "nest", "/" + path.strip("/") if path else "",
                                        f"version:{version}" if version else ""))
        end = controllers[i + 1].start() if i + 1 < len(controllers) else len(text)
        for r in _NEST_ROUTE.finditer(text, m.end(), end):
            sub = r.group(3) or ""
            facts.routes.append(RouteDecl(r.group(1).upper(), "/" + sub.strip("/") if sub else "",
                                          name, "", text.count("\n", 0, r.start()) + 1))
        facts.prefix_unresolved = True
    for m in _NEST_GLOBAL.finditer(text):
        facts.global_prefix_exprs.append(m.group(1) if m.group(1) is not None
                                         else _ref(m.group(2)))


# the same decorators compiled by tsc: "__decorate([(0, common_1.Get)(':id'), ...],
# X.prototype, 'findOne')" and "X = __decorate([(0, common_1.Controller)('x')], X)";
# an ES module keeps the imported names ("__decorate([Get(':id'), ...], ...)")
_DECORATED = re.compile(r"__decorate\(\[(.*?)\],\s*({_ID})(\.prototype)?\s*[,)]"
                        .replace("{_ID}", _ID), re.S)
_COMPILED_CALL = re.compile(r"(?:\(0,\s*)?(?:[\w$]+\.)?(?<![\w$])(Controller|Get|Post|Put|Patch|"
                            r"Delete|All|"
                            r"Options|Head)\)?\(\s*(?:(['\"`])([^'\"`]*)\2|\{([^}]*)\})?\s*\)")


def _nest_compiled(text: str, facts: StructureFacts) -> None:
    """NestJS controllers as tsc emits them (packages that ship only ``dist/``)."""
    prefixes: dict[str, str] = {}
    routes: list[tuple[str, str, str, int]] = []
    for m in _DECORATED.finditer(text):
        owner, on_method = m.group(2), bool(m.group(3))
        for c in _COMPILED_CALL.finditer(m.group(1)):
            kind, path = c.group(1), c.group(3) or ""
            if kind == "Controller" and not on_method:
                if c.group(4):
                    found = re.search(r"path\s*:\s*(['\"`])([^'\"`]*)\1", c.group(4))
                    path = found.group(2) if found else ""
                prefixes[owner] = "/" + path.strip("/") if path else ""
            elif kind != "Controller" and on_method:
                routes.append((kind.upper(), "/" + path.strip("/") if path else "", owner,
                               text.count("\n", 0, m.start()) + 1))
    for owner, prefix in prefixes.items():
        facts.routers.append(RouterDecl(owner, "nest", prefix))
    for method, path, owner, line in routes:
        if owner in prefixes:
            facts.routes.append(RouteDecl(method, path, owner, "", line))
    if prefixes:
        facts.prefix_unresolved = True


def _react_routes(text: str, facts: StructureFacts) -> None:
    for m in _JSX_ROUTE.finditer(text):
        attrs = {a.group(1).lower(): a.group(2) or a.group(3) or a.group(4)
                 for a in _ATTR.finditer(m.group(1))}
        if "path" not in attrs or attrs["path"] is None:
            continue
        comp = attrs.get("element") or attrs.get("component") or ""
        line = text.count("\n", 0, m.start()) + 1
        facts.routes.append(RouteDecl("PAGE", "/" + attrs["path"].lstrip("/"), "", "", line, comp))
        if comp:
            facts.renders.append(comp)
    for m in _ROUTE_OBJ.finditer(text):
        window = text[m.end():m.end() + 400]
        if not re.search(r"\b(element|lazy|[Cc]omponent|children|loader|render)\s*:", window):
            continue
        comp = re.search(r"(?:element\s*:\s*<\s*|[Cc]omponent\s*:\s*)([A-Z][\w$]*)", window)
        line = text.count("\n", 0, m.start()) + 1
        facts.routes.append(RouteDecl("PAGE", "/" + m.group(2).lstrip("/"), "", "", line,
                                      comp.group(1) if comp else ""))
        facts.prefix_unresolved = True


_NEXT_PAGE = re.compile(r"from\s+['\"]next[/'\"]|\bget(?:ServerSide|Static)Props\b|\bNextPage\b")
_NEXT_METHOD = re.compile(r"^\s*export\s+(?:async\s+)?(?:function\s+|const\s+)"
                          r"(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)\b", re.M)


# installed packages and the frameworks' build output: their files are no routes
_BUILD_OUTPUT = frozenset({"node_modules", "dist", "build", ".next", ".svelte-kit", ".nuxt",
                           ".output"})


def file_routes(path: str, text: str, facts: StructureFacts) -> None:
    """Routes a framework makes of file names: Next.js (:func:`_next_routes`), SvelteKit
    (``src/routes/farms/[id]/+page.svelte`` is the page ``/farms/{id}``, ``+server.ts``
    answers with the handlers it exports) and Nuxt (``pages/farms/[id].vue`` is a page,
    ``server/api/farms.get.ts`` answers ``GET /api/farms``)."""
    if path.endswith((".vue.ts", ".svelte.ts")):
        return  # the script block of a component: the component's own path counts
    parts = path.split("/")
    if any(p in _BUILD_OUTPUT for p in parts):
        return
    name = parts[-1]
    if name.startswith("+") and "routes" in parts[:-1]:
        at = len(parts) - 2 - parts[-2::-1].index("routes")
        route = "/" + "/".join(seg for seg in parts[at + 1:-1]
                               if not (seg.startswith("(") and seg.endswith(")")))
        if name == "+page.svelte":
            facts.routes.append(RouteDecl("PAGE", route, "", "", 1))
        elif name.startswith("+server."):
            for m in dict.fromkeys(_NEXT_METHOD.findall(text)):
                facts.routes.append(RouteDecl(m, route, "", "", 1))
        return
    if "server" in parts[:-1] and name.endswith((".ts", ".js", ".mjs")):
        at = parts.index("server")
        if at + 1 < len(parts) - 1 and parts[at + 1] in ("api", "routes"):
            stem, method = name.rsplit(".", 1)[0], "ANY"
            if "." in stem and stem.rsplit(".", 1)[1].upper() in _HTTP_VERBS:
                stem, method = stem.rsplit(".", 1)[0], stem.rsplit(".", 1)[1].upper()
            inner = parts[at + 2:-1] + ([] if stem == "index" else [stem])
            head = ["api"] if parts[at + 1] == "api" else []
            facts.routes.append(RouteDecl(method, "/" + "/".join(head + inner), "", "", 1))
            return
    if name.endswith(".vue") and "pages" in parts[:-1] and _NUXT_PAGE.search(text):
        at = parts.index("pages")
        stem = name.rsplit(".", 1)[0]
        facts.routes.append(RouteDecl("PAGE", "/" + "/".join(
            parts[at + 1:-1] + ([] if stem == "index" else [stem])), "", "", 1))
        return
    _next_routes(path, text, facts)


_HTTP_VERBS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
_NUXT_PAGE = re.compile(r"\b(?:definePageMeta|useAsyncData|useFetch|useHead|useNuxtApp|"
                        r"NuxtLink|NuxtPage|navigateTo)\b|#app|nuxt")


def _next_routes(path: str, text: str, facts: StructureFacts) -> None:
    """Next.js routes are files: ``pages/api/users/[id].ts`` answers ``/api/users/{id}``,
    ``pages/about.tsx`` is the page ``/about``, ``app/(group)/users/[id]/page.tsx`` the
    page ``/users/{id}`` and ``app/api/x/route.ts`` the handlers it exports (``GET``,
    ``POST``). Route groups ``(name)`` and parallel slots ``@name`` are not in the URL.
    Called by :func:`file_routes`, which has already left build output out."""
    parts = path.split("/")
    stem, _, _ = parts[-1].rpartition(".")
    for i, folder in enumerate(parts[:-1]):
        if folder not in ("pages", "app"):
            continue
        inner = [seg for seg in parts[i + 1:-1]
                 if not (seg.startswith("(") and seg.endswith(")")) and not seg.startswith("@")]
        if folder == "pages":
            if stem.startswith("_") or ".test" in stem or ".spec" in stem:
                return
            api = bool(inner) and inner[0] == "api"
            if not api and not _NEXT_PAGE.search(text):
                return
            route = "/" + "/".join(inner + ([] if stem == "index" else [stem]))
            facts.routes.append(RouteDecl("ANY" if api else "PAGE", route, "", "", 1))
        elif stem == "page" and path.endswith(("x", ".js")):
            facts.routes.append(RouteDecl("PAGE", "/" + "/".join(inner), "", "", 1))
        elif stem == "route":
            for m in dict.fromkeys(_NEXT_METHOD.findall(text)):
                facts.routes.append(RouteDecl(m, "/" + "/".join(inner), "", "", 1))
        return


def _models(text: str, facts: StructureFacts) -> None:
    for m in _ENTITY.finditer(text):
        facts.models.append(ModelDecl(m.group(2), m.group(1) or "", "typeorm"))
    for m in _DRIZZLE.finditer(text):
        facts.models.append(ModelDecl(m.group(1), m.group(2), "drizzle"))
    for m in _MONGOOSE.finditer(text):
        facts.models.append(ModelDecl(m.group(1), "", "mongoose"))
    if "@Schema(" in text:
        for m in _NEST_SCHEMA.finditer(text):
            facts.models.append(ModelDecl(m.group(1), "", "mongoose"))


def jsx_text(text: str) -> list[str]:
    """Text people see in JSX: text between tags and string props that label things."""
    out: list[str] = []
    for m in _JSX_TEXT.finditer(text):
        s = " ".join(m.group(1).split())
        if _LETTER.search(s) and not re.search(r"[;=|]|&&|=>|\)\s*$", s) and len(s) <= 200:
            out.append(html.unescape(s))
    for m in _JSX_PROP.finditer(text):
        s = m.group(1) or m.group(2) or m.group(3) or ""
        if _LETTER.search(s):
            out.append(" ".join(s.split()))
    return out


def label_strings(text: str) -> list[str]:
    """String literals of code that read as words for people: a capitalised word or a
    few words (not an identifier, a path, a key or a constant)."""
    out: list[str] = []
    for m in _LABEL_STRING.finditer(text):
        s = (m.group(1) or m.group(2) or m.group(3) or "").strip()
        if (len(s) < 2 or not _LABEL_CHARS.fullmatch(s) or _NOT_LABEL.match(s)
                or len(s.split()) > 8):
            continue
        if s[0].isupper() or " " in s:
            out.append(" ".join(s.split()))
    return out


def read(path: str, text: str, facts: StructureFacts) -> None:
    """Fill ``facts`` from a TypeScript / JavaScript file."""
    _imports(text, facts)
    _constants(text, facts)
    _express(text, facts)
    if "Resource(" in text:
        _resourcejs(text, facts)
    if "@Controller" in text:
        _nest(text, facts)
    elif "__decorate" in text and "Controller" in text:
        _nest_compiled(text, facts)
    if "Route" in text or "path:" in text:
        _react_routes(text, facts)
    file_routes(path, text, facts)
    _models(text, facts)
    if path.endswith((".tsx", ".jsx")) or (path.endswith((".js", ".mjs"))
                                            and _JSX_FILE.search(text)
                                            and re.search(r"\breact\b", text, re.I)):
        facts.ui_text.extend(jsx_text(text))  # JSX also lives in .js files (React apps)
    facts.ui_text.extend(label_strings(text))
    facts.renders = list(dict.fromkeys(facts.renders))
    facts.ui_text = list(dict.fromkeys(facts.ui_text))

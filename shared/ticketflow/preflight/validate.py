"""Turn a request and the repository index into findings with severity.

Critical: the request presents as existing a file, symbol, route or setting the
index cannot find (the closest real one is the suggestion). A critical stops the run
and asks a person, so it is kept for confident claims; a claim the index may simply
not see (a bare word that might not be code, a route under a mount the index could
not follow) is a warning. Names the runtime or the framework provides are not
looked up. Warnings: missing information needed to implement, contradictions, risky
areas. A request that only asks to create something new is not a finding.
"""

from __future__ import annotations

import hashlib
import re

from ticketflow.domain import Finding, FindingKind, Severity
from ticketflow.ports import ApiEndpoint, RepoIndex
from ticketflow.preflight.conflicts import contradictions
from ticketflow.preflight.references import Reference, extract_references
from ticketflow.preflight.wording import unmeasurable

_KIND_OF = {
    "file": FindingKind.MISSING_FILE,
    "symbol": FindingKind.MISSING_SYMBOL,
    "route": FindingKind.MISSING_ROUTE,
    "setting": FindingKind.MISSING_SETTING,
    "ui_text": FindingKind.MISSING_ELEMENT,
}
_WHAT = {"file": "file or path", "symbol": "symbol", "route": "route", "setting": "setting",
         "ui_text": "text"}
_RISKY = re.compile(
    r"\b(auth(?:entication|orization)?|passwords?|payments?|billing|migrations?|"
    r"delete all|drop table|permissions?|secrets?|encryption)\b",
    re.IGNORECASE,
)


_PLATFORM_SETTINGS = frozenset({
    "NODE_ENV", "NODE_OPTIONS", "DJANGO_SETTINGS_MODULE", "FLASK_APP", "FLASK_ENV",
    "FLASK_DEBUG", "PYTHONPATH", "PYTHONUNBUFFERED", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",
    "LANG", "LC_ALL", "TZ", "HOME", "PATH", "PORT", "HOST", "CI", "DEBUG", "GITHUB_TOKEN",
    "VIRTUAL_ENV", "UV_THREADPOOL_SIZE", "WEB_CONCURRENCY", "GUNICORN_CMD_ARGS",
    # settings Django and Flask define with a default: a project may change them without
    # ever having named them
    "ALLOWED_HOSTS", "SECRET_KEY", "SESSION_COOKIE_AGE", "SESSION_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY", "SESSION_COOKIE_SAMESITE", "SESSION_COOKIE_NAME",
    "SESSION_EXPIRE_AT_BROWSER_CLOSE", "SESSION_ENGINE", "CSRF_COOKIE_SECURE",
    "CSRF_TRUSTED_ORIGINS", "CSRF_COOKIE_AGE", "LOGIN_URL", "LOGIN_REDIRECT_URL",
    "LOGOUT_REDIRECT_URL", "PASSWORD_RESET_TIMEOUT", "AUTH_PASSWORD_VALIDATORS",
    "DATA_UPLOAD_MAX_MEMORY_SIZE", "FILE_UPLOAD_MAX_MEMORY_SIZE",
    "DATA_UPLOAD_MAX_NUMBER_FIELDS", "MEDIA_ROOT", "MEDIA_URL", "STATIC_ROOT", "STATIC_URL",
    "TIME_ZONE", "USE_TZ", "USE_I18N", "LANGUAGE_CODE", "DEFAULT_FROM_EMAIL",
    "SERVER_EMAIL", "EMAIL_BACKEND", "EMAIL_HOST", "EMAIL_PORT", "EMAIL_TIMEOUT",
    "EMAIL_USE_TLS", "DEFAULT_AUTO_FIELD", "APPEND_SLASH", "X_FRAME_OPTIONS",
    "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "MAX_CONTENT_LENGTH",
    "PERMANENT_SESSION_LIFETIME", "SEND_FILE_MAX_AGE_DEFAULT", "SERVER_NAME",
    "PREFERRED_URL_SCHEME", "JSON_SORT_KEYS", "TEMPLATES_AUTO_RELOAD",
    "SESSION_REFRESH_EACH_REQUEST",
    "APPLICATION_ROOT", "TESTING", "PROPAGATE_EXCEPTIONS", "TRAP_HTTP_EXCEPTIONS"})


# names the runtime provides (browser, Node, JavaScript, Python): a request may name them
# without the repository defining or even mentioning them
_PLATFORM_NAMES = frozenset({
    "localStorage", "sessionStorage", "indexedDB", "setTimeout", "setInterval",
    "clearTimeout", "clearInterval", "requestAnimationFrame", "addEventListener",
    "removeEventListener", "preventDefault", "stopPropagation", "innerHTML", "innerText",
    "textContent", "querySelector", "querySelectorAll", "getElementById", "onClick",
    "onChange", "onSubmit", "className", "htmlFor", "tabIndex", "maxLength", "minLength",
    "readOnly", "autoComplete", "autoFocus", "defaultValue", "structuredClone",
    "encodeURIComponent", "decodeURIComponent", "parseInt", "parseFloat", "toFixed",
    "toLocaleString", "toISOString", "toLowerCase", "toUpperCase", "forEach", "findIndex",
    "hasOwnProperty", "instanceof", "typeof", "console", "window", "document", "navigator",
    "location", "history", "process", "Math", "JSON", "Object", "Array", "Promise", "Date",
    "String", "Number", "Boolean", "Symbol", "Reflect", "Intl", "Buffer", "Error", "RegExp",
    "Map", "Set", "WeakMap", "URL", "URLSearchParams", "FormData", "Blob", "File",
    "FileReader", "WebSocket", "EventSource", "AbortController", "IntersectionObserver",
    "ResizeObserver", "MutationObserver", "ServiceWorker", "Notification", "XMLHttpRequest",
    "BroadcastChannel", "TextEncoder", "TextDecoder", "ReadableStream", "setdefault",
    "isoformat", "strftime", "strptime", "startswith", "endswith", "isinstance", "getattr",
    "setattr", "hasattr", "__init__", "__str__", "__repr__", "__name__", "__main__",
    # the languages' own values: `null` in a JSON answer is a value, not a name to find
    "null", "undefined", "true", "false", "None", "True", "False", "NaN", "nil"})


def _platform(name: str) -> bool:
    bare = name.removesuffix("()")
    return bare in _PLATFORM_NAMES or bare.split(".", 1)[0] in _PLATFORM_NAMES


def _fid(kind: str, name: str) -> str:
    return "f-" + hashlib.sha1(f"{kind}:{name}".encode()).hexdigest()[:8]


def _missing(ref: Reference, closest: str | None) -> Finding:
    what = _WHAT[ref.kind]
    if ref.kind == "ui_text":
        return Finding(
            id=_fid(ref.kind, ref.name), kind=_KIND_OF[ref.kind], severity=Severity.CRITICAL,
            evidence=ref.evidence,
            message=f"The request refers to '{ref.name}' on screen, but no template, "
                    "component or translation in the repository shows that text.",
            suggestion=(f"Did you mean '{closest}'?" if closest
                        else "Check the wording on screen, or say that it is to be added."),
        )
    suggestion = (f"Did you mean `{closest}`?" if closest
                  else f"Check the name, or say that the {what} is to be created.")
    return Finding(
        id=_fid(ref.kind, ref.name), kind=_KIND_OF[ref.kind], severity=Severity.CRITICAL,
        evidence=ref.evidence,
        message=f"The request refers to the {what} `{ref.name}`, which does not exist "
                "in the repository.",
        suggestion=suggestion,
    )


def validate_request(
    title: str, description: str, *, repo: str | None, index: RepoIndex | None,
    references: list[Reference] | None = None,
) -> list[Finding]:
    """Findings for a request; code references (the rules' own, or ``references`` from
    the claims step 3 gathered) are checked only against a ready index."""
    text = f"{title}.\n{description}".strip()
    findings: list[Finding] = []
    refs = extract_references(text) if references is None else references
    state = index.status(repo).state if repo and index else None
    if state == "ready":
        assert repo is not None and index is not None
        for ref in refs:
            if ref.creates:
                continue
            finding = _check(ref, text, repo, index)
            if finding is not None:
                findings.append(finding)
    elif refs and repo:
        failed = state == "failed"
        findings.append(Finding(
            id=_fid("unverifiable", repo), kind=FindingKind.UNVERIFIABLE,
            severity=Severity.INFO, evidence=refs[0].evidence,
            message=("The repository could not be indexed" if failed else
                     "The repository index is not ready") + ", so code references were not "
                    "checked.",
            suggestion=("Check that the repository can be reached (the indexing error says "
                        "why), then run the request again." if failed else
                        "Run the request again once indexing has finished."),
        ))
    findings.extend(_wording_findings(text, title, description))
    return findings


def _check(ref: Reference, text: str, repo: str, index: RepoIndex) -> Finding | None:
    """The finding for one reference the wording presents as existing, if any."""
    if ref.kind == "description":
        return _check_description(ref, repo, index)
    if ref.kind == "setting" and ref.name in _PLATFORM_SETTINGS:
        return None  # read by the runtime or the framework, not by the repository's code
    if ref.kind == "symbol" and _platform(ref.name):
        return None
    if ref.kind in ("symbol", "setting") and ref.name.endswith("_"):
        return None  # a prefix (`CLEDG_` environment variables) names a family, not one
    look = index.lookup(repo, ref.kind, ref.name)
    if look.found or look.matches:  # several files match a bare name: it exists
        return None
    # the routes the index saw declared, read once for the three checks below
    routes = index.endpoints(repo) if ref.kind == "route" else []
    if ref.kind in ("route", "file") and _spelled_in_code(ref, repo, index, routes):
        return None
    if ref.kind == "file" and any(index.lookup(repo, "file", ref.name + ext).found
                                  for ext in _SOURCE_OF_FILE):
        return None  # webplayer.html, rendered from webplayer.html.j2
    if ref.kind == "route" and _under_unfollowed_mount(ref.name, repo, index, routes):
        return Finding(
            id=_fid("mounted", ref.name), kind=FindingKind.MISSING_ROUTE,
            severity=Severity.WARNING, evidence=ref.evidence,
            message=f"The route `{ref.name}` was not found with its whole path, but its end "
                    "is declared in a router mounted under a prefix the code names.",
            suggestion="Check that the route is reachable at that path.",
        )
    if ref.kind == "route" and (spelled := _path_in_code(ref.name, repo, index, routes)):
        literal, where, prefixed = spelled
        return Finding(
            id=_fid("spelled", ref.name), kind=FindingKind.MISSING_ROUTE,
            severity=Severity.WARNING, evidence=ref.evidence,
            message=f"The route `{ref.name}` was not found declared, but `{where}` writes "
                    f"its path as `{literal}`"
                    + (" under a prefix the code names." if prefixed else "."),
            suggestion="Check that the route is served at that path, for that method.",
        )
    if ref.kind == "ui_text" and len(ref.name.split()) > 1 and index.mentions(repo, ref.name,
                                                                             code_only=True):
        return None  # words written verbatim somewhere (a config, a message): shown
    if ref.kind == "file" and index.path_exists(repo, ref.name):
        return None  # a folder of the repository
    if ref.kind == "file" and "." not in ref.name.rsplit("/", 1)[-1]:
        # an extension-less slash word is a path only if it starts in a real directory
        head = ref.name.strip("/").split("/", 1)[0]
        if not index.path_exists(repo, head):
            return None
    if ref.kind == "symbol" and "." in ref.name:
        # "Service.method()": the method may exist elsewhere; the owner must exist too
        head = ref.name.split(".", 1)[0]
        owner = index.lookup(repo, "symbol", head)
        if head[:1].isupper() and not owner.found and not _mentioned_in_code(repo, index,
                                                                               head):
            return _missing(ref, owner.closest)
    if ref.kind in ("symbol", "setting") and _mentioned_in_code(repo, index, ref.name):
        return None  # a column, key, attribute or environment name read in the code
    if ref.kind == "symbol" and not _symbol_like(ref, text):
        return Finding(
            id=_fid("unresolved", ref.name), kind=FindingKind.MISSING_SYMBOL,
            severity=Severity.WARNING, evidence=ref.evidence,
            message=f"`{ref.name}` looks like a code name but does not appear in the "
                    "repository.",
            suggestion=(f"If it means `{look.closest}`, say so; " if look.closest else "")
            + "if it is to be created, say that it is new.",
        )
    return _missing(ref, look.closest)


# the extensions a file's source has beside its own: a template it is rendered from, an
# example it is copied from
_SOURCE_OF_FILE = (".j2", ".jinja", ".jinja2", ".tmpl", ".tpl", ".template", ".ejs", ".hbs",
                   ".njk", ".erb", ".in", ".example", ".sample", ".dist")


def _spelled_in_code(ref: Reference, repo: str, index: RepoIndex,
                     routes: list[ApiEndpoint]) -> bool:
    """A route path or a file name the code writes out verbatim (``PREFIX =
    '/api/v1/user-menu'``, a front end's ``fetch('/api/logs')``, a file the application
    reads at run time): it exists for the code, though the index did not see it declared
    (a constant passed to the router, a route served by another code base, a file made
    at run time, or one the documentation tells people to write)."""
    text = ref.name.split(None, 1)[-1] if ref.kind == "route" else ref.name
    if ref.kind == "route" and (re.search(r"[:{<*]", text) or text.count("/") < 2):
        return False  # parameters are spelled many ways; "/metrics" is too common a word
    if len(text.strip("/")) < 6:
        return False
    if ref.kind == "route" and len(ref.name.split()) == 2 and any(
            e.path.rstrip("/") == text.rstrip("/") for e in routes):
        return False  # declared, under other methods: the method asked for is what is missing
    # a bare file name the documentation writes out ("users: require('users.json')") is
    # one the person supplies: known to the project, though not in the repository
    bare_file = ref.kind == "file" and "/" not in text
    if index.mentions(repo, text, limit=1, code_only=not bare_file):
        return True
    # a path handed to a framework without its leading slash: SwaggerModule.setup(
    # 'api/docs', ...), setGlobalPrefix('api/v2')
    return ref.kind == "route" and any(index.mentions(repo, f"{q}{text.strip('/')}{q}", limit=1,
                                                      code_only=True) for q in "'\"`")


def _route_segments(path: str) -> list[str]:
    """Segments of a route path, every parameter spelling (``:id``, ``<int:id>``,
    ``{id}``) as ``{}``."""
    path = path.split("?", 1)[0]
    return ["{}" if re.fullmatch(r":\w+\??|<[\w:]+>|\{[\w?]+\}|\*", seg) else seg
            for seg in path.split("/") if seg]


def _under_unfollowed_mount(name: str, repo: str, index: RepoIndex,
                            routes: list[ApiEndpoint]) -> bool:
    """A route whose end a file declares (``router.get('/:id')``) while the rest of the
    requested path is a prefix literal the code names (``router.use('/items', ...)``):
    a mount the index could not follow (a router made by a factory, say), so the route
    may well exist and a person should not be stopped for it."""
    parts = name.split(None, 1)
    method = parts[0].upper() if len(parts) == 2 else None
    want = _route_segments(parts[-1])
    for e in routes:
        if method is not None and e.method not in (method, "ANY"):
            continue
        segs = _route_segments(e.path)
        if not 0 < len(segs) < len(want):
            continue
        head, tail = want[:len(want) - len(segs)], want[len(want) - len(segs):]
        # a parameter takes a parameter or a value, never a fixed word ("versions")
        if not all(d == w or (d == "{}" and re.fullmatch(r"\d+|[0-9a-f-]{8,}", w))
                   for d, w in zip(segs, tail, strict=True)):
            continue
        fixed = [h for h in head if h != "{}"]
        if fixed and index.mentions(repo, "/" + "/".join(fixed), limit=1, code_only=True):
            return True
    return False


def _path_in_code(name: str, repo: str, index: RepoIndex,
                  routes: list[ApiEndpoint]) -> tuple[str, str, bool] | None:
    """A route the index did not see declared whose path the code still writes out,
    parameters spelled its own way (``"/people/<string:handle>/timeline"`` for
    ``/api/people/<handle>/timeline``, an entry ``url: '/subscriptions/:datasetId'`` of a
    route table): the literal, its file, and whether it is the end of the path only,
    under a prefix the code names (``url_prefix="/api"``). ``None`` when no literal
    matches, or when the index saw the path declared under other methods (then the
    method asked for is what is missing)."""
    parts = name.split(None, 1)
    want = _route_segments(parts[-1])
    fixed = [s for s in want if s != "{}"]
    if len(want) < 2 or not fixed:
        return None
    # paths the index saw declared: asked with a method, such a path failed its lookup
    # for that method (a mount it could not follow was the warning before this one)
    declared = {tuple(_route_segments(e.path)) for e in routes} if len(parts) == 2 else set()
    if tuple(want) in declared:
        return None
    for where, literal in index.path_literals(repo, fixed[-1]):
        segs = _route_segments(_RUNTIME_HEAD.sub("", literal))
        if not segs or len(segs) > len(want) or all(s == "{}" for s in segs) \
                or segs != want[len(want) - len(segs):] or tuple(segs) in declared:
            continue
        head = [h for h in want[:len(want) - len(segs)] if h != "{}"]
        if not head:
            if len(segs) < 2:
                continue  # "/keygen" alone is too common a word to be the route
            return literal, where, False
        if index.mentions(repo, "/" + "/".join(head), limit=1, code_only=True):
            return literal, where, True
    return None


# a prefix the program adds at run time: `${base}/users`, `${API}/keys`
_RUNTIME_HEAD = re.compile(r"^(?:\$\{[^}]*\}/?)+")


_GENERIC = frozenset({"endpoint", "route", "api", "page", "screen", "form", "service", "helper",
                      "component", "table", "model", "view", "template", "job", "task",
                      "command", "hook", "setting", "the", "same", "existing", "current"})


def _check_description(ref: Reference, repo: str, index: RepoIndex) -> Finding | None:
    """Something named only by description ("the existing post endpoints"): a warning
    when no route, file or code name in the repository carries its words."""
    words = [w for w in re.findall(r"[a-z][a-z0-9]+", ref.name.lower())
             if w.rstrip("s") not in _GENERIC and w not in _GENERIC]
    if not words:
        return None
    for w in words:
        stem = w[:-1] if len(w) > 3 and w.endswith("s") else w
        if index.mentions(repo, stem, limit=1) or index.lookup(repo, "file", stem).closest:
            return None
        if any(stem in e.path.lower() for e in index.endpoints(repo)):
            return None
    return Finding(
        id=_fid("described", ref.name), kind=FindingKind.MISSING_ELEMENT,
        severity=Severity.WARNING, evidence=ref.evidence,
        message=f"The request refers to the existing {ref.name}, but nothing in the "
                "repository carries those words.",
        suggestion="Name the route, file or code it means.",
    )


def _mentioned_in_code(repo: str, index: RepoIndex, name: str) -> bool:
    """True when ``name`` appears verbatim (as a whole word) in the repository: a name
    that is used, though not defined (a dict key, a column, an attribute, an
    environment variable read through a framework), exists."""
    # "Owner.member" and a layered configuration key "section:key": the last part
    bare = re.split(r"[.:]", name.removesuffix("()"))[-1]
    if len(bare) < 3:
        return False
    return bool(index.mentions(repo, bare, limit=1))


_CODE_NOUN = (r"function|method|class|helper|component|service|module|hook|view|viewset|"
              r"model|decorator|constant|enum|interface|type|task|job|command|handler|"
              r"controller|provider|repository|store|reducer|action|selector|query|mutation|"
              r"resolver|serializer|schema|form|field|column|attribute|property|prop|"
              r"variable|parameter|argument|flag|signal|middleware|mixin|filter|validator|"
              r"utility|util|factory|guard|pipe|interceptor|fixture|template tag|tag|"
              r"callback|listener|event|endpoint|route|table|migration|script|dto|entity")
_CODE_AFTER = re.compile(rf"^\W{{0,2}}\s+(?:{_CODE_NOUN})s?\b", re.I)
_CODE_BEFORE = re.compile(rf"\b(?:{_CODE_NOUN})\s+\W?$", re.I)
_CALLED = re.compile(r"\b(?:call(?:s|ed|ing)?|invok(?:e|es|ed|ing)|import(?:s|ed|ing)?|"
                     r"await(?:s|ing)?|(?:hand(?:s|ed)? off|delegat(?:e|es|ed|ing)|"
                     r"dispatch(?:es|ed)?|forward(?:s|ed)?) to)\s+(?:the\s+)?\W?$", re.I)
_IN_FILE = re.compile(r"^\W{0,2}\s+(?:from|in|of)\s+(?:the\s+)?`?(?:[\w.-]+/)*[\w-]+(?:\.[\w-]+)*"
                      r"\.(?:py|pyi|ts|tsx|js|jsx|mjs|cjs|vue|svelte|rb|go|rs|java|kt|php)\b")
# "x in AuditService", "x of the UserRepository": a member of a named piece of code
_IN_CODE = re.compile(r"^\W{0,2}\s+(?:in|of|from|on)\s+(?:the\s+)?`?((?:[A-Z][a-z0-9]+){2,})\b")
# "x only rewrites the y", "x drops `z`": the name is the subject of what the code does now
_ACTS = re.compile(r"^\W{0,2}\s+(?:only|still|always|never|already|just|also|silently|"
                   r"currently)\s+[a-z]+s\s+(?:the|a|an|its|their|every|all|each|any|no|`|"
                   r"[a-z][a-z0-9]*_[a-z0-9_]+|[a-z]+[A-Z]\w*)\b")
# the last word of a code name that says what it is: AuditService, ProductTagBulkDeleteModal
_ROLE = re.compile(
    r"(?:Service|Controller|Component|Module|Provider|Repository|Repo|Store|Model|Entity|"
    r"Schema|Serializer|Form|View|ViewSet|Page|Screen|Modal|Dialog|Drawer|Panel|Card|Table|"
    r"List|Grid|Row|Item|Button|Menu|Bar|Header|Footer|Sidebar|Navbar|Layout|Section|"
    r"Field|Input|Select|Picker|Editor|Handler|Manager|Factory|Builder|Helper|Helpers|Util|"
    r"Utils|Client|Adapter|Gateway|Guard|Interceptor|Middleware|Pipe|Filter|Decorator|"
    r"Validator|Mixin|Admin|Config|Settings|Options|Context|Hook|Reducer|Action|Actions|"
    r"Slice|Selector|Query|Mutation|Resolver|Job|Task|Worker|Queue|Listener|Event|Emitter|"
    r"Subscriber|Consumer|Producer|Command|Exception|Error|Type|Interface|Enum|Dto|"
    r"Request|Response|Router|Routes|Api|Endpoint|Plugin|Loader|Parser|Renderer|"
    r"Formatter|Exporter|Importer|Generator|Scheduler|Cache|Logger|Strategy|Policy|Tab|"
    r"Tabs|Link|Icon|Badge|Avatar|Chart|Widget|Wizard|Step|Toolbar|Tooltip|Banner|"
    r"Provider|Container|Wrapper|View|Template|Mailer|Notifier|Sender|Client|Spec|Test)$")


# products and generic terms whose name happens to end in a code role
_BRANDS = frozenset({"SendGrid", "WebView", "WebHook", "WebHooks", "PlayStation", "FlowChart",
                     "ListView", "TableView", "GridView", "DevTools", "CodeSandbox"})


def _symbol_like(ref: Reference, text: str) -> bool:
    """A bare word counts as a code reference only when the wording points at code:
    backticks, a call ``name()``, a dotted name or a member of one
    (``exports.bulkDelete``), a code noun beside it ("the format_price filter", "the
    helper send_mail"), a camelCase name that starts in lower case (``useAuth``), or a
    CamelCase name ending in a word that says what the code is (``AuditService``,
    ``ProductTagBulkDeleteModal``)."""
    n = ref.name
    if f"`{n}`" in text or f"{n}()" in text or "." in n:
        return True
    if re.search(rf"(?<![\w.])[A-Za-z_$][\w$]*\.{re.escape(n)}(?![\w(.])", text):
        # a member: "exports.bulkDelete", "this.refreshRows" (not the end of a library's
        # module path, "django.core.validators.validate_email")
        return True
    if re.fullmatch(r"[a-z][a-z0-9]+(?:[A-Z][a-z0-9]+)+", n) and (
            _ROLE.search(n) or re.match(r"use[A-Z]", n)):
        return True  # userService, useAuditTrail; a bare "isOpen" may be a prop or a key
    if re.fullmatch(r"(?:[A-Z][a-z0-9]+){2,}", n) and _ROLE.search(n) and n not in _BRANDS:
        return True
    for m in re.finditer(rf"(?<![\w.]){re.escape(n)}(?![\w])", text):
        if _CODE_AFTER.match(text[m.end():m.end() + 40]) or _CODE_BEFORE.search(
                text[max(0, m.start() - 30):m.start()]):
            return True
        if _CALLED.search(text[max(0, m.start() - 20):m.start()]) or _IN_FILE.match(
                text[m.end():m.end() + 120]):
            return True  # "call refresh_cache", "refresh_cache from jobs/cache.py"
        owner = _IN_CODE.match(text[m.end():m.end() + 80])
        if owner and _ROLE.search(owner.group(1)) and owner.group(1) not in _BRANDS:
            return True  # "flush_all in CacheService"
        if ("_" in n or n[:1].islower()) and _ACTS.match(text[m.end():m.end() + 80]):
            return True  # "rotate_key only rewrites the hash"
    return False


_MISSING_MESSAGE = {
    "target": "'{term}' has no target value, so it cannot be tested.",
    "scope": "'{term}' does not say which ones or when, so it cannot be reproduced or "
             "scoped.",
    "behaviour": "'{term}' does not say what happens or what is expected instead.",
    "source": "'{term}' points at something the request does not give, so it cannot be "
              "implemented as written.",
}
_MISSING_SUGGESTION = {
    "target": "State a measurable target (a number with a unit, or an observable "
              "behaviour).",
    "scope": "Say who or what is affected, when, and what happens instead.",
    "behaviour": "Describe the steps, what happens, and what should happen.",
    "source": "Give the value, name or rule itself.",
}


def _wording_findings(text: str, title: str, description: str) -> list[Finding]:
    out: list[Finding] = []
    for u in unmeasurable(description, title):
        out.append(Finding(
            id=_fid("missing", u.sentence.lower()),
            kind=(FindingKind.UNMEASURABLE if u.missing == "target"
                  else FindingKind.MISSING_INFORMATION),
            severity=Severity.WARNING, evidence=u.sentence,
            message=_MISSING_MESSAGE[u.missing].format(term=u.term),
            suggestion=_MISSING_SUGGESTION[u.missing],
        ))
    # the title sums the request up: against the description it reads as a contradiction
    for c in contradictions(description):
        out.append(Finding(
            id=_fid("contradiction", c.evidence.lower()), kind=FindingKind.CONTRADICTION,
            severity=Severity.WARNING, evidence=c.evidence,
            message=f"The request asks for opposite things ({c.why}): '{c.first}' and "
                    f"'{c.second}'.",
            suggestion="Say which one applies, and where.",
        ))
    m = _RISKY.search(text)
    if m:
        out.append(Finding(
            id=_fid("risky", m.group(0).lower()), kind=FindingKind.RISKY_AREA,
            severity=Severity.INFO, evidence=m.group(0),
            message=f"The change touches a sensitive area ({m.group(0)}).",
            suggestion="Plan a review by the owners of that area and tests for it.",
        ))
    unique: dict[str, Finding] = {}
    for f in out:
        unique.setdefault(f.id, f)
    return list(unique.values())

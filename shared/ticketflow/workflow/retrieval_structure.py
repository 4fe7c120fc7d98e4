"""Structural neighbours for step 5's ranking: files a change to the best-ranked files
usually touches too, found from how code is laid out rather than from the request's
words alone.

* **Companion modules** of an application package: a view's forms, its ``admin.py``,
  its query or repository module, its ``urls.py``, its mail module, its models (and a
  form's view), each when the request speaks of what that kind of module holds
  (fields and validation, the admin, listing speed, links, e-mail, stored data).
* **Stem family**: in the folder of a best file, the file whose name it extends
  (``order-list-table`` for ``configurable-order-list-table``) and the variants that
  extend its name (``topic_horizontal.html`` next to ``topic.html``).
* **Action siblings**: a request that creates or edits something gets the create and
  edit forms beside the detail page it ranked (``product-tag-create-form.tsx``).
* **Entity layers**: the files named like the entity's model in every layer
  (``models/webhook_log.py`` -> ``repositories/webhook_log.py``).
* **Entry files**: a request about the whole application (rate limits, CORS, headers,
  middleware, sessions) gets the files that create the application and read its
  settings.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from ticketflow.ports import RepoIndex
from ticketflow.repo_index.extract import split_words
from ticketflow.repo_index.paths import demotion, singular

__all__ = ["action_siblings", "companions", "entity_layers", "entry_files", "stem_family"]

# role of a module (by its file or folder name) -> words of a request about that role
_ROLES: tuple[tuple[frozenset[str], frozenset[str]], ...] = (
    (frozenset({"form", "serializer", "schema", "validator", "dto", "input"}),
     frozenset({"field", "required", "optional", "valid", "validation", "validate", "invalid",
                "length", "form", "input", "enter", "submit", "blank", "empty", "mandatory",
                "format", "taken", "unique", "password", "characters"})),
    (frozenset({"admin"}), frozenset({"admin", "staff", "backoffice"})),
    (frozenset({"query", "queries", "crud", "repository", "repo", "manager", "filter",
                "search", "selector", "dao"}),
     frozenset({"list", "slow", "fast", "faster", "quick", "quickly", "load", "query",
                "filter", "sort", "search", "paging", "performance", "big", "many", "count",
                "snappier"})),
    (frozenset({"url", "route", "router", "routing"}),
     frozenset({"url", "route", "endpoint", "link", "download", "api"})),
    (frozenset({"email", "mail", "mailer", "notification", "notify", "signal", "task"}),
     frozenset({"email", "mail", "notify", "notification", "send", "reminder", "digest"})),
    (frozenset({"model", "entity"}),
     frozenset({"field", "column", "store", "stored", "attribute", "expiry", "track",
                "tracked", "vote"})),
    (frozenset({"view", "controller", "handler", "endpoint", "resource"}),
     frozenset({"save", "reject", "error", "submit", "redirect", "refuse"})),
)
# folders that hold one kind of module of a package (views/, routes/), not a package
_ROLE_DIRS = frozenset({"views", "view", "routes", "routers", "api", "controllers",
                        "handlers", "endpoints", "resources", "forms", "serializers",
                        "schemas", "models", "crud", "repositories", "services"})
_CODE = (".py", ".ts", ".js", ".tsx", ".jsx", ".mjs", ".go", ".rb", ".php", ".java", ".kt")


def _stem(path: str) -> str:
    return path.rsplit("/", 1)[-1].split(".")[0]


def _words(text: str) -> set[str]:
    return {singular(w) for w in split_words(text) if len(w) > 1}


def _package(path: str) -> PurePosixPath | None:
    parent = PurePosixPath(path).parent
    if parent.name in _ROLE_DIRS:
        parent = parent.parent
    return parent if str(parent) not in (".", "") else None


def companions(index: RepoIndex, repo: str, seeds: list[str],
               terms: set[str]) -> dict[str, tuple[str, float]]:
    """Companion modules of the seeds' packages: file -> (seed, strength in (0, 1])."""
    wanted = [(roles, len(cues & terms)) for roles, cues in _ROLES if cues & terms]
    if not wanted:
        return {}
    out: dict[str, tuple[str, float]] = {}
    for seed in seeds:
        if not seed.endswith(_CODE):
            continue
        package = _package(seed)
        if package is None:
            continue
        base = str(package) + "/"
        for p in index.files_under(repo, str(package), limit=400):
            parts = p[len(base):].split("/")
            if p == seed or len(parts) > 2 or not p.endswith(_CODE):
                continue
            if len(parts) == 2 and parts[0] not in _ROLE_DIRS:
                continue
            role_words = _words(parts[0] if len(parts) == 2 else _stem(p))
            for roles, hits in wanted:
                if role_words & roles:
                    strength = min(1.0, 0.7 + 0.15 * hits) * (0.85 if len(parts) == 2
                                                               else 1.0)
                    if strength > out.get(p, ("", 0.0))[1]:
                        out[p] = (seed, strength)
    return out


def stem_family(index: RepoIndex, repo: str, seeds: list[str]) -> dict[str, tuple[str, float]]:
    """Files in a seed's folder whose name it extends (1.0) or that extend its name
    (0.7): file -> (seed, strength)."""
    out: dict[str, tuple[str, float]] = {}
    for seed in seeds:
        folder = str(PurePosixPath(seed).parent)
        stem = _stem(seed).lower()
        if folder in (".", "") or len(stem) < 3:
            continue
        suffix = PurePosixPath(seed).suffix
        for p in index.files_under(repo, folder, limit=300):
            if p == seed or "/" in p[len(folder) + 1:] or not p.endswith(suffix):
                continue
            other = _stem(p).lower()
            if len(other) >= 3 and other != stem and other in stem:
                strength = 1.0  # the file the seed's name extends: its base
            elif other.startswith(stem) and other[len(stem):len(stem) + 1] in ("_", "-"):
                strength = 0.7  # a variant or a part of the seed
            else:
                continue
            if strength > out.get(p, ("", 0.0))[1]:
                out[p] = (seed, strength)
    return out


_ACTIONS = frozenset({"create", "edit", "new", "add", "update"})


def action_siblings(index: RepoIndex, repo: str, seeds: list[str],
                    terms: set[str]) -> dict[str, tuple[str, float]]:
    """The create / edit forms near a seed, for a request that creates or edits."""
    actions = _ACTIONS & terms
    if not actions:
        return {}
    out: dict[str, tuple[str, float]] = {}
    for seed in seeds:
        folder = PurePosixPath(seed).parent
        for _ in range(3):
            folder = folder.parent
            if str(folder) in (".", ""):
                break
            found = [p for p in index.files_under(repo, str(folder), limit=400)
                     if p != seed and "form" in _stem(p).lower()
                     and "form" in (words := _words(_stem(p))) and words & actions
                     and demotion(p) == 1.0]
            if found:
                for p in found:
                    out.setdefault(p, (seed, 0.9))
                break
    return out


def entity_layers(index: RepoIndex, repo: str, model_files: list[str]) -> list[str]:
    """Files named like an entity's model file, in other folders (its repository,
    schema, service, routes)."""
    out: list[str] = []
    for model in model_files:
        stem = _stem(model).lower()
        words = sorted(_words(stem))
        if not words:
            continue
        for p in index.files_named(repo, words):
            other = _stem(p).lower()
            if p != model and p.endswith(_CODE) and demotion(p) == 1.0 and (
                    other == stem or other.startswith((stem + "_", stem + "-"))):
                out.append(p)
    return list(dict.fromkeys(out))


_APP_WIDE = frozenset({"cors", "throttle", "throttling", "helmet", "middleware", "cookie",
                       "csrf", "compression", "origin", "brute"})
_ENTRY_STEMS = frozenset({"app", "main", "server", "index", "application", "asgi", "wsgi",
                          "bootstrap"})
_SETTINGS_STEMS = frozenset({"env", "config", "settings", "configuration"})


def entry_files(index: RepoIndex, repo: str, terms: set[str],
                near: list[str]) -> list[tuple[str, float]]:
    """For a request about the whole application: the entry files (``app.ts``,
    ``main.py``) and the settings readers (``config/env.ts``) in the source tree of the
    best files, strongest first."""
    if not (_APP_WIDE & terms or {"rate", "limit"} <= terms):
        return []
    roots: list[str] = []
    for p in near:
        parts = PurePosixPath(p).parts
        if "src" in parts:
            roots.append("/".join(parts[:parts.index("src") + 1]))
        elif len(parts) > 1:
            roots.append(parts[0])
    out: dict[str, float] = {}
    for root in dict.fromkeys(roots):
        for p in index.files_under(repo, root, limit=600):
            rel = PurePosixPath(p).relative_to(root)
            stem = _stem(p).lower()
            if not p.endswith(_CODE) or demotion(p) < 1.0:
                continue
            if stem in _ENTRY_STEMS and len(rel.parts) == 1:
                out[p] = max(out.get(p, 0.0), 1.0)
            elif stem in _SETTINGS_STEMS and len(rel.parts) <= 2:
                out[p] = max(out.get(p, 0.0), 0.85)
    return sorted(out.items(), key=lambda kv: (-kv[1], kv[0]))[:3]

"""The features of one (request, candidate file) pair that step 5's ranking weighs.

Candidates come from the index's full-text search of the request and of its title
alone, the files behind what the request names (and the package manifest when it brings
in a dependency), the models of the entities it talks about and their files in other
layers, the pages it names, the settings modules when it asks about something
configurable (:func:`gather`), then the neighbours of the best of those
(:func:`extend`): the import, route, mount and render graphs, and the files
:mod:`.retrieval_structure` finds from how code is laid out. Every feature is a number
in [0, 1], 0 when the signal is absent, so the weights of ``retrieval_weights.json``
(fitted by ``bench/w4_fit.py``) say how much each signal is worth and nothing here
does.

Changing :data:`FEATURES` (a name, what one measures, the candidates) needs a refit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath

from ticketflow.ports import FileHit, RepoIndex
from ticketflow.repo_index.extract import split_words
from ticketflow.repo_index.paths import (
    DEMOTED_KINDS,
    compiled_sources,
    demoted_kinds,
    demotion,
    path_words,
    singular,
)
from ticketflow.workflow import retrieval_signals as signals
from ticketflow.workflow import retrieval_structure as structure

__all__ = ["FEATURES", "SEARCH_LIMIT", "SEED_FEATURES", "Request", "extend", "gather"]

#: how many full-text hits become candidates
SEARCH_LIMIT = 40
#: how many full-text hits of the title alone become candidates too
TITLE_LIMIT = 10

# the kinds of demoted file frequent enough among candidates to weigh on their own (the
# others count through ``demoted`` alone)
_DEMOTED_SEEN = frozenset({"test", "migration", "translation", "packaging", "prose", "static",
                           "fixture"})
#: features known before any file is ranked: they choose the seeds of :func:`extend`
SEED_FEATURES: tuple[str, ...] = (
    # the index's full-text ranking (bm25 over path words, code names and text)
    "search_score", "search_rank", "search_top3", "search_hit",
    # the same for the title alone (what the request is about, before the details)
    "title_search_score", "title_search_rank",
    # request words the path carries (identifier-aware, singular)
    "path_words", "stem_share", "stem_all", "dir_words", "title_path_words", "title_stem",
    # the file behind a name the request mentions
    "named", "named_first", "named_file", "named_symbol", "named_route", "named_ui_text",
    "named_setting", "named_mentions", "named_closest",
    # models and schemas of the entities the request names, their files in other layers
    "entity_model", "entity_specific", "entity_layer",
    # "the X page / form / dialog"
    "page",
    # the modules that declare the most settings, and whether the request asks about one
    "settings_module", "settings_asked",
    # what kind of file it is
    "code", "template", "jsx", "ui_folder", "config", "style", "dotenv", "manifest", "depth",
    "entry_name", "index_name", "wiring_name", "package_init",
    # how much less a file counts as a starting point (tests, prose, lock files ...)
    "demoted", *(f"demoted_{kind}" for kind in DEMOTED_KINDS if kind in _DEMOTED_SEEN),
)
#: features of a file's place next to the seeds (values: the seed's strength)
NEIGHBOUR_FEATURES: tuple[str, ...] = (
    "renders_out", "renders_in", "renders_view", "routes_out", "routes_in", "mounts_out",
    "mounts_in",
    "import_out", "import_in", "neighbour_words", "same_folder", "same_stem",
    "companion", "stem_base", "stem_variant", "action_sibling", "entry_file",
)
FEATURES: tuple[str, ...] = (*SEED_FEATURES, *NEIGHBOUR_FEATURES)

_CODE = (".py", ".ts", ".js", ".tsx", ".jsx", ".mjs", ".cjs", ".go", ".rb", ".php", ".java",
         ".kt", ".vue", ".svelte", ".prisma", ".sql")
_MARKUP = (".html", ".htm", ".jinja", ".jinja2", ".j2", ".hbs", ".handlebars", ".ejs", ".njk",
           ".vue", ".svelte")
_UI_FOLDERS = frozenset({"templates", "pages", "views", "components", "screens"})
# words of a request about something configurable
_SETTING_CUES = frozenset({"setting", "config", "configuration", "configurable", "configured",
                           "configure", "limit", "timeout", "default", "env", "environment",
                           "variable", "option", "max", "maximum", "minimum", "threshold",
                           "interval", "ttl", "expiry", "expire", "lifetime", "window"})
_CONFIG = (".json", ".yaml", ".yml", ".toml", ".ini", ".cfg", ".conf", ".env", ".xml")
_STYLE = (".css", ".scss", ".sass", ".less", ".styl")
_ENTRY = frozenset({"app", "main", "server", "application", "asgi", "wsgi", "bootstrap",
                    "manage"})
_WIRING = frozenset({"urls", "url", "routes", "route", "router", "routers", "routing",
                     "module"})


@dataclass
class Request:
    """One request's signals and its candidates' features (sparse: absent is 0)."""

    terms: set[str]
    words: set[str]
    hits: list[FileHit]
    title_terms: set[str]
    title_hits: list[FileHit]
    named: list[signals.Named]
    entities: list[tuple[str, int]]
    layers: list[str]
    pages: list[tuple[str, float]]
    settings: list[str]
    rows: dict[str, dict[str, float]] = field(default_factory=dict)
    _rank: dict[str, int] = field(init=False, default_factory=dict)
    _title_rank: dict[str, int] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._rank = {h.path: i for i, h in reversed(list(enumerate(self.hits)))}
        self._title_rank = {h.path: i for i, h in reversed(list(enumerate(self.title_hits)))}

    def row(self, path: str) -> dict[str, float]:
        """The features of ``path``, its direct ones computed when it first appears."""
        if path not in self.rows:
            self.rows[path] = self._direct(path)
        return self.rows[path]

    @property
    def candidates(self) -> list[str]:
        return list(self.rows)

    def _direct(self, path: str) -> dict[str, float]:
        f = _path_features(path, self.terms)
        i = self._rank.get(path)
        if i is not None:
            top = self.hits[0].score or 1.0
            f["search_score"] = max(0.0, min(self.hits[i].score / top, 1.0))
            f["search_rank"] = 1.0 / (1.0 + i)
            f["search_top3"] = 1.0 if i < 3 else 0.0
            f["search_hit"] = 1.0
        i = self._title_rank.get(path)
        if i is not None:
            top = self.title_hits[0].score or 1.0
            f["title_search_score"] = max(0.0, min(self.title_hits[i].score / top, 1.0))
            f["title_search_rank"] = 1.0 / (1.0 + i)
        if self.title_terms:
            shared = path_words(path) & self.title_terms
            f["title_path_words"] = min(len(shared) / min(len(self.title_terms), 3), 1.0)
            stem = PurePosixPath(path).name.split(".")[0]
            f["title_stem"] = 1.0 if {singular(w) for w in split_words(stem)} & shared else 0.0
        for i, n in enumerate(self.named):
            if n.path == path:
                f["named"] = 1.0
                f["named_first"] = 1.0 if i == 0 else 0.0
                f[f"named_{n.kind}"] = 1.0
                if n.how in ("mentions", "closest"):
                    f[f"named_{n.how}"] = 1.0
                break
        sizes = dict(self.entities)
        if path in sizes:
            f["entity_model"] = min(sizes[path], 3) / 3
            f["entity_specific"] = 1.0 if sizes[path] == self.entities[0][1] else 0.0
        if path in self.layers:
            f["entity_layer"] = 1.0
        f["page"] = dict(self.pages).get(path, 0.0)
        if path in self.settings:
            f["settings_module"] = 1.0 / (1.0 + self.settings.index(path))
            if _SETTING_CUES & self.words:
                f["settings_asked"] = f["settings_module"]
        return {k: v for k, v in f.items() if v}


def gather(index: RepoIndex, repo: str, query: str, text: str) -> Request:
    """The request's signals and the candidates they name, with their direct
    features (:data:`SEED_FEATURES`)."""
    words = {singular(w) for w in split_words(text)}
    req_terms = signals.terms(text)
    hits = index.search(repo, query, limit=SEARCH_LIMIT, with_snippets=False)
    title = text.split("\n", 1)[0]
    title_hits = index.search(repo, title, limit=TITLE_LIMIT, with_snippets=False)
    entities = signals.entity_files(index, repo, req_terms)[:3]
    best = [p for p, size in entities if size == entities[0][1]] if entities else []
    layers = structure.entity_layers(index, repo, best)
    named = signals.named_files(index, repo, text)
    if signals.implies_dependency(text):
        # a dependency to bring in or upgrade names, in effect, the manifest declaring it
        named += [signals.Named(p, "file", "implied") for p in signals.manifests(
            index.files(repo), [h.path for h in hits[:3]]) if p not in {n.path for n in named}]
    settings = index.settings_files(repo)[:3]
    req = Request(terms=req_terms, words=words, hits=hits, title_terms=signals.terms(title),
                  title_hits=title_hits, named=named, entities=entities,
                  layers=layers, pages=signals.page_files(index, repo, text),
                  settings=settings)
    for p in [*(n.path for n in req.named), *(h.path for h in hits),
              *(h.path for h in title_hits), *(p for p, _ in entities),
              *layers, *(p for p, _ in req.pages),
              *(settings if _SETTING_CUES & words else [])]:
        req.row(p)
    _fold_compiled(index, repo, req)
    return req


def extend(index: RepoIndex, repo: str, req: Request, seeds: dict[str, float]) -> None:
    """Add the neighbours of ``seeds`` (path -> strength in (0, 1]) and their features
    (:data:`NEIGHBOUR_FEATURES`: the strongest seed each is found from)."""
    order = list(seeds)

    def put(path: str, name: str, value: float) -> None:
        row = req.row(path)
        if value > row.get(name, 0.0):
            row[name] = value

    for edge in index.neighbours(repo, order):
        for seed, other, side in ((edge.src, edge.dst, "out"), (edge.dst, edge.src, "in")):
            if seed not in seeds or other == seed:
                continue
            cover = _coverage(other, req.terms)
            if edge.kind == "import" and cover == 0:
                continue  # a shared utility, not part of this change
            put(other, f"{edge.kind}_{side}", seeds[seed])
            put(other, "neighbour_words", seeds[seed] * min(cover, 1.0))
            if edge.kind == "renders" and side == "out" and edge.via:
                # the template of the view the request is about, not of any view there
                put(other, "renders_view", seeds[seed] * _view_share(edge.via, req.words))
    for p, (seed, strength) in structure.companions(index, repo, order, req.words).items():
        put(p, "companion", strength * seeds[seed])
    for p, (seed, strength) in structure.stem_family(index, repo, order[:5]).items():
        put(p, "stem_base" if strength == 1.0 else "stem_variant", seeds[seed])
    for p, (seed, strength) in structure.action_siblings(index, repo, order,
                                                         req.words).items():
        put(p, "action_sibling", strength * seeds[seed])
    for p, strength in structure.entry_files(index, repo, req.words, order):
        put(p, "entry_file", strength)
    for p in req.candidates:
        folder, stem = _folder_stem(p)
        for seed, strength in seeds.items():
            if seed == p:
                continue
            other_folder, other_stem = _folder_stem(seed)
            if other_folder == folder:
                put(p, "same_folder", strength)
            elif other_stem == stem and len(stem) > 2:
                put(p, "same_stem", strength)
    _fold_compiled(index, repo, req)


# words of a view's name that say it is a view, not which one
_VIEW_WORDS = frozenset({"view", "handler", "page", "api", "endpoint", "route", "controller",
                         "resource", "mixin", "base", "render", "template", "show", "do"})


def _view_share(via: str, words: set[str]) -> float:
    """How much of the best-matching view's name the request says (0 when none)."""
    best = 0.0
    for name in via.split():
        own = {singular(w) for w in split_words(name) if len(w) > 1} - _VIEW_WORDS
        if own:
            best = max(best, len(own & words) / len(own))
    return best


def _folder_stem(path: str) -> tuple[str, str]:
    folder, _, name = path.rpartition("/")
    return folder, name.split(".")[0].lower()


def _fold_compiled(index: RepoIndex, repo: str, req: Request) -> None:
    """A compiled copy (``lib/a.js``, ``dist/a.d.ts``) of a source file the repository
    holds too (``src/a.ts``) gives way to the source: the change is made there. The
    source takes the copy's signals (each the stronger of the two)."""
    for p in req.candidates:
        source = next((src for src in compiled_sources(p) if index.path_exists(repo, src)),
                      None)
        if source is None:
            continue
        copied = req.rows.pop(p)
        row = req.row(source)
        for k, v in copied.items():
            if k not in _PATH_FEATURES and v > row.get(k, 0.0):
                row[k] = v


def _coverage(path: str, terms: set[str]) -> float:
    if not terms:
        return 0.0
    return len(path_words(path) & terms) / min(len(terms), 4)


def _path_features(path: str, terms: set[str]) -> dict[str, float]:
    p = PurePosixPath(path)
    name = p.name
    stem = name.split(".")[0]
    suffix = p.suffix.lower()
    stem_words = {singular(w) for w in split_words(stem) if len(w) > 1}
    dir_words = {singular(w) for part in p.parent.parts for w in split_words(part)
                 if len(w) > 1}
    f: dict[str, float] = {"path_words": min(_coverage(path, terms), 1.0)}
    if stem_words:
        f["stem_share"] = len(stem_words & terms) / len(stem_words)
        f["stem_all"] = 1.0 if stem_words <= terms else 0.0
    if terms:
        f["dir_words"] = min(len(dir_words & terms) / min(len(terms), 4), 1.0)
    f["code"] = 1.0 if suffix in _CODE else 0.0
    f["template"] = 1.0 if suffix in _MARKUP else 0.0
    f["jsx"] = 1.0 if suffix in (".tsx", ".jsx") else 0.0
    f["ui_folder"] = 1.0 if _UI_FOLDERS & set(p.parent.parts) else 0.0
    f["dotenv"] = 1.0 if name.startswith(".env") else 0.0
    f["config"] = 1.0 if suffix in _CONFIG or f["dotenv"] else 0.0
    f["style"] = 1.0 if suffix in _STYLE else 0.0
    f["depth"] = min(len(p.parts) - 1, 8) / 8
    low = stem.lower()
    f["entry_name"] = 1.0 if low in _ENTRY else 0.0
    f["index_name"] = 1.0 if low == "index" else 0.0
    f["wiring_name"] = 1.0 if low in _WIRING or name.lower().endswith(
        (".module.ts", ".routes.ts", ".router.ts", ".route.ts")) else 0.0
    f["package_init"] = 1.0 if name == "__init__.py" else 0.0
    f["manifest"] = 1.0 if name in signals.MANIFESTS else 0.0
    f["demoted"] = 1.0 - demotion(path)
    for kind in demoted_kinds(path) & _DEMOTED_SEEN:
        f[f"demoted_{kind}"] = 1.0
    return f


# what :func:`_path_features` computes (a compiled copy's are not its source's)
_PATH_FEATURES = frozenset(_path_features("a/b.py", {"a"})) | frozenset(
    f"demoted_{kind}" for kind in DEMOTED_KINDS) | {"stem_share", "stem_all", "dir_words"}

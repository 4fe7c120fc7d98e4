"""What kind of file a path is, for ranking: the code a change touches comes before its
tests, migrations, translations, lock files, packaging metadata, prose and build
output."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from ticketflow.repo_index.extract import split_words

__all__ = ["COMPILED", "DEMOTED_KINDS", "compiled_sources", "demoted_kinds", "demotion",
           "path_words", "singular"]

#: how much a compiled copy weighs when its source sits beside it
COMPILED = 0.6
_BUILD_DIR = re.compile(r"^((?:.*/)?)(?:dist|build|lib|out|esm|cjs|lib-esm|es)/(.+?)"
                        r"(?:\.d)?\.(?:js|mjs|cjs|ts|map)$")

_RULES: tuple[tuple[str, re.Pattern[str], float], ...] = (
    ("test", re.compile(r"(^|/)(tests?|__tests__|spec|specs|e2e|e2e-tests|test_?utils)/|"
                        r"(^|/)test_|[._-](test|spec|e2e-spec)\.[a-z]+$|(^|/)conftest\.py$|"
                        r"(^|/)tests?\.py$"),
     0.45),
    ("migration", re.compile(r"(^|/)(migrations|alembic|versions|drizzle)/|"
                             r"(^|/)\d{3,}_[\w-]+\.(py|sql)$"), 0.4),
    # catalogues: gettext files, locale folders, and data files named for a locale
    # (public/intl/messages/en-GB.json, strings/pt_BR.yml)
    ("translation", re.compile(r"(^|/)(locale|locales|translations|i18n|l10n|intl|lang|langs)/|"
                               r"\.(po|pot|mo)$|(^|/)[a-z]{2,3}[-_](?:[A-Z]{2}|Han[st]|"
                               r"[A-Z][a-z]{3})\.(json|ya?ml|arb|xlf|xliff|properties|"
                               r"strings)$"), 0.45),
    ("lock", re.compile(r"(^|/)(package-lock\.json|yarn\.lock|pnpm-lock\.yaml|poetry\.lock|"
                        r"uv\.lock|Pipfile\.lock|Cargo\.lock)$|\.min\.(js|css)$|\.map$"), 0.3),
    ("packaging", re.compile(r"(^|/)(PKG-INFO|SOURCES\.txt|[\w.-]+\.egg-info/.*|MANIFEST\.in|"
                             r"LICENSE[\w.-]*|NOTICE|AUTHORS|CHANGES[\w.-]*|CHANGELOG[\w.-]*|"
                             r"HISTORY[\w.-]*)$"), 0.35),
    ("prose", re.compile(r"(^|/)(docs?|documentation)/|(^|/)README[\w.-]*$|\.(md|rst|txt)$"),
     0.55),
    ("static", re.compile(r"(^|/)(static|public|assets|vendor|third_party)/.*\.(js|css)$"), 0.6),
    ("fixture", re.compile(r"(^|/)(fixtures|snapshots?|__snapshots__|mocks?|__mocks__)/"), 0.7),
    # type declarations and coverage reports (compiled copies: see ``compiled_sources``)
    ("declaration", re.compile(r"(^|/)(\.next|coverage)/|\.d\.ts$"), 0.6),
)
#: the kinds of file :func:`demotion` weighs less, in a fixed order
DEMOTED_KINDS: tuple[str, ...] = tuple(name for name, _, _ in _RULES)


def demoted_kinds(path: str) -> frozenset[str]:
    """Which of :data:`DEMOTED_KINDS` ``path`` is (a test fixture is both)."""
    return frozenset(name for name, pattern, _ in _RULES if pattern.search(path))


def demotion(path: str) -> float:
    """A factor in (0, 1]: 1 for source code, lower for files a change rarely starts in."""
    factor = 1.0
    for _, pattern, f in _RULES:
        if pattern.search(path):
            factor = min(factor, f)
    return factor


def singular(word: str) -> str:
    """A cheap singular: ``entries`` -> ``entry``, ``logs`` -> ``log``, ``class`` stays."""
    w = word.lower()
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    if len(w) > 4 and w.endswith(("ses", "xes", "zes", "ches", "shes")):
        return w[:-2]
    if len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        return w[:-1]
    return w


def path_words(path: str) -> set[str]:
    """Singular lower-case words of a path (directories, file name, camelCase split)."""
    p = PurePosixPath(path)
    parts = [*p.parent.parts, p.name.split(".")[0], *p.name.split(".")[1:-1]]
    return {singular(w) for part in parts for w in split_words(part) if len(w) > 1}


def compiled_sources(path: str) -> list[str]:
    """For a file of a build folder (``pkg/lib/routes/a.js``, ``pkg/dist/a.d.ts``), the
    source files it would be compiled from (``pkg/src/routes/a.ts`` ...); empty for
    any other file."""
    m = _BUILD_DIR.match(path)
    if m is None:
        return []
    return [f"{m.group(1)}src/{m.group(2)}.{ext}" for ext in ("ts", "tsx", "js", "jsx")]

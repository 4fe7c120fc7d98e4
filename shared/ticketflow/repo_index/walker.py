"""List the indexable files of a repository work tree, lazily.

A git work tree is listed with ``git ls-files -co --exclude-standard`` (tracked plus
untracked-but-not-ignored files); anything else is walked on disk. Either way,
vendored and generated directories (:data:`SKIP_DIRS`) are left out, as are binary
files (a NUL byte in the first 8 KB), files larger than :data:`MAX_BYTES` and, when
their content is read, minified scripts and style sheets (:func:`looks_minified`). Build
output (:data:`BUILD_OUTPUT_DIRS`) is left out only when its package has its source
too: a package that ships nothing but compiled code is indexed from its build output
(:class:`BuildOutput`).

Never indexed, so never sent to a model: files that look like secrets
(:func:`secret_reason`: keys and keystores, credential files, ``.env`` variants whose
values would be kept), and anything reached through a symbolic link (a symlinked file,
or a file whose resolved path leaves the tree through a symlinked parent directory).
A fetched git tree (:mod:`ticketflow.repo_index.fetch`) goes through the same checks.

Paths are yielded one at a time, so a large repository is never held in memory.
"""

from __future__ import annotations

import fnmatch
import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ticketflow.repo_index.extract import ENV_FILES

# build output: a compiled copy of the package's source, or its only code when the
# package ships no source (see :class:`BuildOutput`)
BUILD_OUTPUT_DIRS = frozenset({"dist", "build"})
VENDORED_DIRS = frozenset({".git", "node_modules", ".venv", "venv", "__pycache__"})
SKIP_DIRS = VENDORED_DIRS | BUILD_OUTPUT_DIRS
# at most this many files of build output are indexed (compiled code first)
BUILD_OUTPUT_MAX_FILES = 2000
MAX_BYTES = 1_000_000
SNIFF_BYTES = 8192


@dataclass(frozen=True)
class WalkedFile:
    """One indexable file: its repo-relative POSIX path, absolute path and size."""

    path: str
    abspath: Path
    size: int

    def read(self) -> bytes:
        return self.abspath.read_bytes()


# Names (matched case-insensitively against the file name) that hold secrets: private
# keys and certificates' keys, keystores, credential and password files.
SECRET_NAMES = (
    "*.pem", "*.key", "*.p12", "*.pfx", "*.jks", "*.keystore", "*.bks", "*.kdbx",
    "*.gpg", "*.ppk", "id_rsa*", "id_dsa*", "id_ecdsa*", "id_ed25519*",
    ".netrc", "_netrc", ".git-credentials", ".pgpass", ".htpasswd", ".npmrc", ".pypirc",
    "credentials", "credentials.json", "*.tfstate", "*.tfvars", "secrets",
    "secrets.json", "secrets.y*ml", "secrets.toml", "secrets.ini", "secrets.cfg",
    "secrets.conf", "secrets.env", "secrets.txt", "secrets.properties", "secrets.xml",
    "secrets.*.json", "secrets.*.y*ml", "secrets.enc*", "secrets.*.enc*",
    "service-account*.json", "*-service-account.json",
)
# a module of code named for the secrets it manages (``services/secrets.py``, a
# ``secrets.ts`` router) holds code, like ``settings.py``: indexed


def secret_reason(rel: str) -> str | None:
    """Why ``rel`` must never be indexed (nor reach a model), or ``None``.

    ``.env`` files are indexed as keys only (values are dropped at extraction) when
    their name is one the extractor knows; every other ``.env*`` variant would be
    indexed as plain text, values included, so it is refused here."""
    name = PurePosixPath(rel).name.lower()
    if name.startswith(".env") and name not in ENV_FILES:
        return "environment file (values are secrets)"
    for pattern in SECRET_NAMES:
        if fnmatch.fnmatchcase(name, pattern):
            return f"looks like a secret ({pattern})"
    return None


def is_git_work_tree(root: Path) -> bool:
    """True when ``root`` is inside a git work tree (and git is installed)."""
    try:
        proc = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--is-inside-work-tree"],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return proc.returncode == 0 and proc.stdout.strip() == "true"


def _skipped(rel: str) -> bool:
    return any(part in SKIP_DIRS for part in rel.split("/")[:-1])


_SOURCE_EXT = (".py", ".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs", ".vue",
               ".svelte")
_TYPED_SOURCE_EXT = (".ts", ".tsx", ".mts", ".cts")
_DECLARATION = re.compile(r"\.d\.[mc]?ts$")
_COMPILED_EXT = (".js", ".mjs", ".cjs", ".d.ts", ".d.mts", ".d.cts", ".py")


def _module_stem(name: str) -> str:
    """``kennels.service.d.ts`` and ``kennels.service.ts`` -> ``kennels.service``."""
    name = _DECLARATION.sub("", name)
    return name.rsplit(".", 1)[0] if "." in name else name


def _module_path(rel: str) -> str:
    """``kennel/kennel.service.d.ts`` -> ``kennel/kennel.service``."""
    folder, _, name = rel.rpartition("/")
    return f"{folder}/{_module_stem(name)}" if folder else _module_stem(name)


def _source_place(module: str) -> str:
    """Where a source module lands in build output: its path inside the package, less
    a source folder (``src/api/users`` -> ``api/users``)."""
    head, _, rest = module.partition("/")
    return rest if rest and head in ("src", "lib", "app", "source") else module


def _build_root(rel: str) -> str | None:
    """The outermost build-output folder ``rel`` lies in (``pkg/dist``), or ``None``."""
    parts = rel.split("/")[:-1]
    for i, part in enumerate(parts):
        if part in VENDORED_DIRS:
            return None
        if part in BUILD_OUTPUT_DIRS:
            return "/".join(parts[:i + 1])
    return None


# folders whose TypeScript is not what a package's build output is compiled from: the
# examples, documentation and tests that ship beside it
_ASIDE_DIRS = frozenset({"examples", "example", "samples", "sample", "docs", "doc", "test",
                         "tests", "__tests__", "spec", "e2e", "fixtures", "benchmarks", "bench",
                         "demo", "demos"})


# a package's top-level module of these names starts its build output
# (``module.exports = require('./dist')``); it is not the output's source
_LAUNCHERS = frozenset({"index", "main"})


class BuildOutput:
    """Which build-output folders to index: those that are their package's only code.

    Paths are offered one at a time (:meth:`offer`); those inside a build-output folder
    are held back. A folder's package is the folder holding it; the package has its
    source when, outside build output, it holds TypeScript (which the output is compiled
    from; not the TypeScript of its examples, documentation or tests) or a source file
    at the place of one of the output's modules (``src/kennel.js`` beside
    ``dist/kennel.js``, ``lib/api/users.js`` beside ``build/api/users.js``; a launcher
    ``index.js`` beside ``dist/server/index.js`` or ``dist/index.js`` is not the
    output's source). Otherwise the build output is the only code there is and
    :meth:`released` returns its files (source maps and minified bundles never), compiled
    code first, at most :data:`BUILD_OUTPUT_MAX_FILES`."""

    def __init__(self, max_files: int = BUILD_OUTPUT_MAX_FILES) -> None:
        self.max_files = max_files
        self._held: dict[str, list[str]] = {}
        self._modules: set[str] = set()  # source files' paths without their extension
        self._typed: set[str] = set()  # folders holding TypeScript source

    def offer(self, rel: str) -> bool:
        """True when ``rel`` is to be listed now; False when held back or skipped."""
        root = _build_root(rel)
        if root is not None:
            if not _skipped(rel[len(root) + 1:]) and not excluded(rel):
                self._held.setdefault(root, []).append(rel)
            return False
        if _skipped(rel):
            return False
        folder, _, name = rel.rpartition("/")
        if name.endswith(_SOURCE_EXT) and not _DECLARATION.search(name):
            self._modules.add(_module_path(rel))
            if name.endswith(_TYPED_SOURCE_EXT) and not _ASIDE_DIRS & set(folder.split("/")):
                self._typed.add(folder)
        return True

    def has_source(self, root: str) -> bool:
        """True when the package holding build-output folder ``root`` has its source."""
        package = root.rpartition("/")[0]
        inside = package + "/" if package else ""
        if any(f == package or f.startswith(inside) for f in self._typed):
            return True
        built = {_module_path(rel[len(root) + 1:]) for rel in self._held.get(root, ())}
        return any(_source_place(m[len(inside):]) in built for m in self._modules
                   if m.startswith(inside) and m[len(inside):] not in _LAUNCHERS)

    def released(self) -> list[str]:
        """Files of the build-output folders that are their package's only code."""
        out = [rel for root in sorted(self._held)
               if not self.has_source(root) and not _ASIDE_DIRS & set(root.split("/"))
               for rel in self._held[root]]  # a documentation site's build: never
        out.sort(key=lambda rel: (not rel.endswith(_COMPILED_EXT), rel))
        return out[:self.max_files]


def _git_paths(root: Path) -> Iterator[str]:
    """Stream ``git ls-files`` output (NUL-separated) without buffering it all."""
    proc = subprocess.Popen(
        ["git", "-C", str(root), "ls-files", "-co", "--exclude-standard", "-z"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    seen: set[str] = set()  # -co can list a path twice (e.g. during merges)
    buf = b""
    try:
        while chunk := proc.stdout.read(65536):
            buf += chunk
            *entries, buf = buf.split(b"\0")
            for raw in entries:
                rel = os.fsdecode(raw)
                if rel and rel not in seen:
                    seen.add(rel)
                    yield rel
        if buf:
            yield os.fsdecode(buf)
    finally:
        proc.stdout.close()
        proc.wait()


def _disk_paths(root: Path) -> Iterator[str]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in VENDORED_DIRS)
        base = Path(dirpath).relative_to(root)
        for name in sorted(filenames):
            yield (base / name).as_posix()


def _ignored_by_enclosing_repo(root: Path) -> bool:
    """A folder that the surrounding work tree ignores (an unpacked download inside a
    git-ignored cache, say): git lists nothing there, so walk the disk instead."""
    try:
        proc = subprocess.run(["git", "-C", str(root), "check-ignore", "-q", "."],
                              capture_output=True, check=False, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return proc.returncode == 0


def candidate_paths(root: Path) -> Iterator[str]:
    """Repo-relative POSIX paths of the work tree, before content checks."""
    use_git = is_git_work_tree(root) and not _ignored_by_enclosing_repo(root)
    source = _git_paths(root) if use_git else _disk_paths(root)
    build = BuildOutput()
    for rel in source:
        if build.offer(rel):
            yield rel
    yield from build.released()


GENERATED = re.compile(r"\.min\.(js|css)$|\.map$|(^|/)(package-lock\.json|yarn\.lock|"
                       r"pnpm-lock\.yaml|poetry\.lock|Cargo\.lock)$")


def looks_generated(rel: str) -> bool:
    """Minified bundles, source maps and lock files: not code anyone would edit."""
    return bool(GENERATED.search(rel))


_BUNDLE_EXT = (".js", ".mjs", ".cjs", ".css")


def looks_minified(rel: str, data: bytes) -> bool:
    """A script or style sheet minified whatever its name (``assets/lib-CCz2mjm8.js``, one
    line of 240 KB): lines of more than a thousand characters on average in its first
    8 KB. Nobody edits it, and reading it costs seconds."""
    if not rel.endswith(_BUNDLE_EXT):
        return False
    head = data[:SNIFF_BYTES]
    return len(head) >= 2000 and len(head) / (head.count(b"\n") + 1) > 1000


def readable(rel: str, data: bytes | None) -> bool:
    """Is this content indexed? Text, at most :data:`MAX_BYTES`, not a minified bundle."""
    return (data is not None and len(data) <= MAX_BYTES and not looks_binary(data)
            and not looks_minified(rel, data))


def looks_binary(head: bytes) -> bool:
    """The git heuristic: a NUL byte in the first 8 KB means binary."""
    return b"\0" in head[:SNIFF_BYTES]


def excluded(rel: str) -> bool:
    """Generated files and secret-looking files: listed, but never indexed."""
    return looks_generated(rel) or secret_reason(rel) is not None


def walk(root: str | Path, *, max_bytes: int = MAX_BYTES) -> Iterator[WalkedFile]:
    """Yield the indexable (text, not too large, not secret) files under ``root``;
    nothing reached through a symbolic link."""
    base = Path(root).resolve()
    for rel in candidate_paths(base):
        if excluded(rel):
            continue
        full = base / rel
        try:
            if full.is_symlink() or not full.is_file():
                continue
            if not full.resolve().is_relative_to(base):
                continue  # a symlinked parent directory leads out of the tree
            size = full.stat().st_size
            if size > max_bytes:
                continue
            with full.open("rb") as fh:
                if looks_binary(fh.read(SNIFF_BYTES)):
                    continue
        except OSError:
            continue
        yield WalkedFile(rel, full, size)

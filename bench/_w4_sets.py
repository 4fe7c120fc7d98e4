"""W4's labelled request sets and the public code they are about.

Two groups, kept apart on purpose:

* ``development`` (rules and ranking are tuned on it): ``w4_dev.json`` and the
  former held-out sets 1 to 20 (``w4_heldout.json``, ``w4_heldout2.json`` ...
  ``w4_heldout20.json``), which became development data once they had been scored
  and their figures reported, and two sets written as development data from the
  start (``w4_dev10a.json``, ``w4_dev10b.json``);
* the held-out group (``HELD_OUT``), when there is one: a set written and committed
  before any tuning against it, never tuned on; only its aggregate figures are
  printed. There is none between a set's final run and the next set's commit.

Each file names its repositories by pinned release: PyPI source distributions
(the release's ``.tar.gz`` from PyPI's simple index, its sha256 checked) and npm tarballs
(``npm pack NAME@VERSION``), downloaded once into ``bench/.cache/dl`` and unpacked
into ``bench/.cache/src`` (git-ignored).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "bench" / ".cache"
BENCH = ROOT / "bench"
# group -> its source files (source name -> file), in report order
SETS: dict[str, dict[str, Path]] = {
    "development": {"w4_dev": BENCH / "w4_dev.json",
                    "former_held_out_1": BENCH / "w4_heldout.json",
                    "former_held_out_2": BENCH / "w4_heldout2.json",
                    "former_held_out_3": BENCH / "w4_heldout3.json",
                    "former_held_out_4": BENCH / "w4_heldout4.json",
                    "former_held_out_5": BENCH / "w4_heldout5.json",
                    "former_held_out_6": BENCH / "w4_heldout6.json",
                    "former_held_out_7": BENCH / "w4_heldout7.json",
                    "former_held_out_8": BENCH / "w4_heldout8.json",
                    "former_held_out_9": BENCH / "w4_heldout9.json",
                    "dev_10a": BENCH / "w4_dev10a.json",
                    "dev_10b": BENCH / "w4_dev10b.json",
                    "former_held_out_10": BENCH / "w4_heldout10.json",
                    "former_held_out_11": BENCH / "w4_heldout11.json",
                    "former_held_out_12": BENCH / "w4_heldout12.json",
                    "former_held_out_13": BENCH / "w4_heldout13.json",
                    "former_held_out_14": BENCH / "w4_heldout14.json",
                    "former_held_out_15": BENCH / "w4_heldout15.json",
                    "former_held_out_16": BENCH / "w4_heldout16.json",
                    "former_held_out_17": BENCH / "w4_heldout17.json",
                    "former_held_out_18": BENCH / "w4_heldout18.json",
                    "former_held_out_19": BENCH / "w4_heldout19.json",
                    "former_held_out_20": BENCH / "w4_heldout20.json"},
}
# groups whose individual cases and misses are never printed
HELD_OUT: frozenset[str] = frozenset()
KINDS = ("planted", "clean", "warning")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Planted:
    kind: str
    name: str


@dataclass(frozen=True)
class Warned:
    kind: str
    evidence: str


@dataclass(frozen=True)
class Case:
    """One labelled request (see the ``about`` text of the set files)."""

    id: str
    set: str
    source: str
    repo: str
    kind: str
    title: str
    description: str
    relevant: tuple[str, ...]
    planted: tuple[Planted, ...] = ()
    warnings: tuple[Warned, ...] = ()


@dataclass
class RequestSet:
    """One group of request files (``SETS``); repositories shared by two files are
    indexed once."""

    name: str
    written: dict[str, str]
    repos: dict[str, dict[str, str]]
    sources: list[str] = field(default_factory=list)
    cases: list[Case] = field(default_factory=list)


def load(name: str) -> RequestSet:
    """The group called ``name`` (a key of ``SETS``), checked."""
    out = RequestSet(name=name, written={}, repos={})
    for source, path in SETS[name].items():
        doc: dict[str, Any] = json.loads(path.read_text())
        out.sources.append(source)
        out.written[source] = doc.get("written", "")
        for repo, spec in doc["repos"].items():
            if out.repos.setdefault(repo, spec) != spec:
                raise SystemExit(f"{name}: repository {repo!r} pinned differently in "
                                 f"{path.name}")
        _load_cases(out, source, doc)
    return out


def _load_cases(out: RequestSet, source: str, doc: dict[str, Any]) -> None:
    name = f"{out.name}/{source}"
    for raw in doc["cases"]:
        if raw["kind"] not in KINDS:
            raise SystemExit(f"{name}/{raw['id']}: unknown kind {raw['kind']!r}")
        if raw["repo"] not in doc["repos"]:
            raise SystemExit(f"{name}/{raw['id']}: unknown repository {raw['repo']!r}")
        case = Case(id=raw["id"], set=out.name, source=source, repo=raw["repo"],
                    kind=raw["kind"],
                    title=raw["title"], description=raw["description"],
                    relevant=tuple(raw.get("relevant", [])),
                    planted=tuple(Planted(p["kind"], p["name"]) for p in raw.get("planted", [])),
                    warnings=tuple(Warned(w["kind"], w["evidence"])
                                   for w in raw.get("warnings", [])))
        if (case.kind == "planted") != bool(case.planted):
            raise SystemExit(f"{name}/{case.id}: kind and planted references disagree")
        if (case.kind == "warning") != bool(case.warnings):
            raise SystemExit(f"{name}/{case.id}: kind and labelled warnings disagree")
        out.cases.append(case)


# -- the repositories ------------------------------------------------------------------------


def fetch(spec: dict[str, str]) -> Path:
    """The unpacked release of ``spec`` (a ``pypi`` or ``npm`` pin; downloaded once)."""
    if "path" in spec:
        return (ROOT / spec["path"]).resolve()
    target = CACHE / "src" / spec["dir"]
    if not target.is_dir():
        dl = CACHE / "dl"
        dl.mkdir(parents=True, exist_ok=True)
        archive = _download_pypi(spec["pypi"], dl) if "pypi" in spec else _download_npm(
            spec["npm"], dl)
        _unpack(archive, target, strip_top="npm" in spec)
    return _own_work_tree(target).resolve()


PYPI_SIMPLE = "https://pypi.org/simple"


def _download_pypi(pin: str, dl: Path) -> Path:
    """The release's source distribution, fetched as a file from PyPI's simple index
    (PEP 691 JSON) and checked against the index's sha256. Not ``pip download``: to
    name what it downloads, pip prepares the package's metadata, which runs its build
    backend (some applications build their whole front end with npm there)."""
    name, version = pin.split("==")
    normal = re.sub(r"[-_.]+", "-", name.lower())  # PEP 503
    # sdist names: as pinned, or normalised (PEP 625: runs of "-", "_", "." become "_")
    stems = {f"{name.lower()}-{version}", f"{re.sub(r'[-_.]+', '_', name.lower())}-{version}"}
    names = {stem + ext for stem in stems for ext in (".tar.gz",)}
    found = [p for p in dl.iterdir() if p.name.lower() in names]
    if found:
        return found[0]
    log(f"downloading {pin} (source distribution)")
    with httpx.Client(timeout=120, follow_redirects=True) as client:
        index = client.get(f"{PYPI_SIMPLE}/{normal}/",
                           headers={"Accept": "application/vnd.pypi.simple.v1+json"})
        index.raise_for_status()
        files = [f for f in index.json()["files"] if f["filename"].lower() in names]
        if not files:
            raise SystemExit(f"PyPI lists no source distribution of {pin}")
        entry = files[0]
        body = client.get(entry["url"])
        body.raise_for_status()
    digest = hashlib.sha256(body.content).hexdigest()
    if digest != entry["hashes"].get("sha256", digest):
        raise SystemExit(f"{entry['filename']}: sha256 {digest} is not the index's")
    target = dl / entry["filename"]
    partial = target.with_name(target.name + ".partial")
    partial.write_bytes(body.content)
    partial.rename(target)
    return target


def _download_npm(pin: str, dl: Path) -> Path:
    name, version = pin.rsplit("@", 1)
    expected = dl / f"{name.lstrip('@').replace('/', '-')}-{version}.tgz"
    if not expected.is_file():
        if shutil.which("npm") is None:
            raise SystemExit(f"npm is needed to download {pin}")
        log(f"downloading {pin} (npm tarball)")
        subprocess.run(["npm", "pack", "-q", "--pack-destination", str(dl), pin], check=True,
                       stdout=subprocess.DEVNULL)
    if not expected.is_file():
        raise SystemExit(f"npm pack of {pin} did not produce {expected.name}")
    return expected


def _unpack(archive: Path, target: Path, *, strip_top: bool) -> None:
    """Unpack into ``target``; npm tarballs keep everything under ``package/``."""
    tmp = target.with_name(target.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    with tarfile.open(archive) as tar:
        tar.extractall(tmp, filter="data")
    tops = list(tmp.iterdir())
    if len(tops) != 1 or not tops[0].is_dir():
        raise SystemExit(f"{archive.name} does not unpack to one folder")
    inner = tops[0]
    if not strip_top and inner.name != target.name:
        raise SystemExit(f"{archive.name} unpacked to {inner.name}, expected {target.name}")
    inner.rename(target)
    shutil.rmtree(tmp, ignore_errors=True)


def _own_work_tree(path: Path) -> Path:
    """Make the unpacked release its own (empty) git work tree.

    ``bench/.cache`` is ignored by this project's git, and the indexer lists a git work
    tree with ``git ls-files --exclude-standard``: without a repository of its own, the
    unpacked source would be listed as empty."""
    if not (path / ".git").exists():
        subprocess.run(["git", "init", "-q", str(path)], check=True)
    return path

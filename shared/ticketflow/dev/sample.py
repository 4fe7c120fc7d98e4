"""The bundled sample repository as the git repository ``ticketflow dev`` offers.

``examples/sample-repo`` is a plain folder in this project; repositories are named by
git URL, so the dev stack makes a git repository of it under its state folder (one
commit of the folder's files, made with dulwich, no ``git`` binary) and offers its
``file://`` URL to the page (``config.js``), which offers it to whoever signs in:
"Use the sample repository" registers it for that person and the normal index task
builds its index. The repository is kept between starts (its commit, and so every
index built of it, stays valid); it is made again when the folder's files change.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from ticketflow.dev.emulators import PROJECT_ROOT

__all__ = ["SAMPLE_SOURCE", "SampleRepository", "prepare_sample"]

SAMPLE_SOURCE = PROJECT_ROOT / "examples" / "sample-repo"
AUTHOR = b"ticketflow dev <dev@ticketflow.invalid>"
_STAMP = "ticketflow-sample-digest"  # in .git/: the source digest the commit was made of

log = logging.getLogger("ticketflow.dev")


@dataclass(frozen=True)
class SampleRepository:
    """The sample as a git repository: its ``file://`` ``url``, its head ``commit``,
    and whether this start ``made`` it (``False``: kept from a previous start)."""

    url: str
    commit: str
    made: bool


def _files(source: Path) -> list[str]:
    out: list[str] = []
    for root, dirs, names in os.walk(source):
        dirs[:] = sorted(d for d in dirs if d not in (".git", "__pycache__"))
        out += [(Path(root) / n).relative_to(source).as_posix() for n in sorted(names)]
    return out


def _digest(source: Path) -> str:
    h = hashlib.sha256()
    for rel in _files(source):
        h.update(rel.encode() + b"\0" + (source / rel).read_bytes() + b"\0")
    return h.hexdigest()


def prepare_sample(target: Path, source: Path = SAMPLE_SOURCE) -> SampleRepository:
    """A git repository at ``target`` holding ``source``'s files in one commit: the one
    kept from a previous start when it was made of the same files, else made anew."""
    from dulwich import porcelain
    from dulwich.repo import Repo

    if not source.is_dir():
        raise FileNotFoundError(f"{source}: the sample repository's folder is missing")
    digest = _digest(source)
    stamp = target / ".git" / _STAMP
    if stamp.is_file() and stamp.read_text().strip() == digest:
        try:
            with Repo(str(target)) as repo:
                return SampleRepository(f"file://{target}", repo.head().decode(), made=False)
        except Exception as exc:  # a broken repository: made again below
            log.warning("sample repository unreadable, making it again",
                        extra={"path": str(target), "error": str(exc)})
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(".git", "__pycache__"))
    porcelain.init(str(target))
    with Repo(str(target)) as repo:
        porcelain.add(repo, [str(target / rel) for rel in _files(target)])
        sha = porcelain.commit(repo, message=b"the ticketflow sample repository",
                               author=AUTHOR, committer=AUTHOR)
    stamp.write_text(digest + "\n")
    commit = sha.decode() if isinstance(sha, bytes) else str(sha)
    return SampleRepository(f"file://{target}", commit, made=True)

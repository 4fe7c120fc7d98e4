"""Which version of the extractors built an index.

An index is incremental by content hash: a file whose hash is unchanged keeps the
facts extracted from it before. Those facts are only as good as the code that
extracted them, so each index notes the version of the extractors that filled it
(:data:`EXTRACTOR`, a digest of this package's source), and a build by another version
extracts every file again (and copies nothing from an index that version did not
build): after an upgrade, a repository's routes, models and UI text are read with the
new code, not kept from the old."""

from __future__ import annotations

import hashlib
from importlib import resources

__all__ = ["EXTRACTOR"]


def _digest() -> str:
    package = resources.files("ticketflow.repo_index")
    sources = sorted((p for p in package.iterdir() if p.name.endswith(".py")),
                     key=lambda p: p.name)
    h = hashlib.sha256()
    for p in sources:
        h.update(p.name.encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()[:16]


#: the digest of the extractors' source (walking, extraction, code structure, links)
EXTRACTOR = _digest()

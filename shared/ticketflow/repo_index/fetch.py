"""Name a repository by URL, resolve a ref to a commit, and fetch that commit's tree.

No ``git`` binary is assumed (a Cloud Function image has none): the git protocols are
spoken by dulwich. Supported locations (:func:`parse_location`):

* ``https://host/path`` (and ``http://`` where the deployment allows it: local tests),
  over git's smart HTTP protocol; private repositories with a token from
  :class:`GitCredentials` (HTTP Basic), never a password in the URL;
* ``file:///abs/path`` to a git repository on this machine;
* a local directory (``kind == "path"``), only where the caller allows it (the
  embedded CLI): it is walked on disk, uncommitted changes included, not fetched.

:func:`fetch_commit` fetches one commit with ``depth=1`` into a bare repository in a
work directory the caller owns (and removes), stopping as soon as the pack exceeds
``max_bytes`` or the deadline passes. :class:`FetchedTree` lists the tree's indexable
files with the same rules as :mod:`ticketflow.repo_index.walker` (skipped folders,
generated and secret-looking files), and never follows a symbolic link (a link is a
blob whose mode says so; it is skipped) or a submodule.

Errors carry the two verbs: :class:`RepoUnreachableError` (retryable: the network or
the server failed) and :class:`RepoRejectedError` (terminal: not a git repository, no
such ref, authentication refused, too large). Messages never contain a credential.
"""

from __future__ import annotations

import json
import os
import re
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from ticketflow.domain.errors import RetryableError, TerminalError
from ticketflow.repo_index.walker import BuildOutput, excluded

_HEX40 = re.compile(r"^[0-9a-f]{40}$")
_HEX_SHORT = re.compile(r"^[0-9a-f]{7,39}$")
_SCP_LIKE = re.compile(r"^[\w.-]+@[\w.-]+:")


class RepoUnreachableError(RetryableError):
    """The repository could not be reached now (network, server error): retry later."""

    code = "repo_unreachable"


class RepoRejectedError(TerminalError):
    """Retrying cannot help: not a git repository, unknown ref, access refused, too
    large, not allowed."""

    code = "repo_rejected"


class RepoTooLargeError(RepoRejectedError):
    code = "repo_too_large"


@dataclass(frozen=True)
class RepoLocation:
    """A validated repository location: ``url`` is canonical (what is stored and
    shown); ``kind`` says whether it is fetched (``git``) or walked (``path``)."""

    url: str
    kind: Literal["git", "path"]

    @property
    def local_path(self) -> Path:
        if self.kind == "path":
            return Path(self.url)
        return Path(urlsplit(self.url).path)


def parse_location(raw: str, *, schemes: frozenset[str] = frozenset({"https", "http", "file"}),
                   allow_local: bool = False) -> RepoLocation:
    """Validate and canonicalise a repository URL (see the module doc).

    Raises :class:`RepoRejectedError` with a message a person can act on."""
    text = (raw or "").strip()
    if not text:
        raise RepoRejectedError("a repository URL is required", code="bad_repo_url")
    if len(text) > 500:
        raise RepoRejectedError("the repository URL is longer than 500 characters",
                                code="bad_repo_url")
    if _SCP_LIKE.match(text) or text.startswith("ssh://") or text.startswith("git://"):
        raise RepoRejectedError(
            f"{text}: SSH and git:// URLs are not supported; give the https URL",
            code="bad_repo_url")
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if len(scheme) <= 1:  # no scheme (or a Windows drive letter): a local directory
        hint = _scheme_hint(text, allow_local=allow_local)
        if hint:
            raise RepoRejectedError(hint, code="bad_repo_url")
        if not allow_local:
            raise RepoRejectedError(
                f"{text}: a local path cannot be read here; give the repository's git URL "
                f"({', '.join(sorted(schemes))})", code="bad_repo_url")
        local = Path(text).expanduser().resolve()
        if not local.is_dir():
            raise RepoRejectedError(f"{local}: no such directory", code="bad_repo_url")
        return RepoLocation(str(local), "path")
    if scheme not in schemes:
        raise RepoRejectedError(
            f"{text}: the {scheme}:// scheme is not allowed here (allowed: "
            f"{', '.join(sorted(schemes))})", code="bad_repo_url")
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise RepoRejectedError(f"{text}: a file:// URL names a path on this machine",
                                    code="bad_repo_url")
        path = os.path.normpath(parts.path)
        if not path.startswith("/"):
            raise RepoRejectedError(f"{text}: a file:// URL needs an absolute path",
                                    code="bad_repo_url")
        return RepoLocation(f"file://{path}", "git")
    if parts.username or parts.password or "@" in parts.netloc:
        raise RepoRejectedError(
            "the repository URL must not contain credentials; private repositories use "
            "a token configured for the deployment (TICKETFLOW_GIT_CREDENTIALS)",
            code="bad_repo_url")
    if not parts.hostname:
        raise RepoRejectedError(f"{text}: the URL names no host", code="bad_repo_url")
    if parts.query or parts.fragment:
        raise RepoRejectedError(f"{text}: a repository URL has no query or fragment",
                                code="bad_repo_url")
    path = re.sub(r"/+$", "", parts.path) or ""
    netloc = parts.hostname.lower() + (f":{parts.port}" if parts.port else "")
    return RepoLocation(urlunsplit((scheme, netloc, path, "", "")), "git")


_HOST_FIRST = re.compile(r"^(www\.)?[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}(:\d+)?/", re.I)


def _scheme_hint(text: str, *, allow_local: bool) -> str | None:
    """A URL typed without its scheme (``github.com/acme/app``) names a host, not a
    directory: say so, rather than "no such directory" or "a local path"."""
    if not _HOST_FIRST.match(text):
        return None
    if allow_local and Path(text).expanduser().is_dir():
        return None
    return f"{text}: the URL has no scheme; did you mean https://{text} ?"


@dataclass(frozen=True)
class GitCredentials:
    """HTTP Basic credentials by URL prefix, from ``TICKETFLOW_GIT_CREDENTIALS``: a JSON
    object ``{"https://github.com/acme/": "TOKEN"}`` (user ``x-access-token``) or
    ``"USER:TOKEN"``. The longest matching prefix wins. In a deployment the JSON is a
    Secret Manager secret exposed to the functions as that variable."""

    by_prefix: dict[str, tuple[str, str]] = field(default_factory=dict)

    @classmethod
    def parse(cls, raw: str | None) -> GitCredentials:
        if not raw or not raw.strip():
            return cls()
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ValueError(f"TICKETFLOW_GIT_CREDENTIALS is not JSON: {exc.msg}") from None
        if not isinstance(data, dict) or not all(
                isinstance(k, str) and isinstance(v, str) and v for k, v in data.items()):
            raise ValueError("TICKETFLOW_GIT_CREDENTIALS must be a JSON object of "
                             "URL prefix -> token (or USER:TOKEN)")
        out: dict[str, tuple[str, str]] = {}
        for prefix, secret in data.items():
            user, sep, token = secret.partition(":")
            out[prefix.rstrip("/") + "/"] = (user, token) if sep else ("x-access-token", secret)
        return cls(out)

    def for_url(self, url: str) -> tuple[str, str] | None:
        target = url.rstrip("/") + "/"
        best = max((p for p in self.by_prefix if target.startswith(p)), key=len, default=None)
        return self.by_prefix[best] if best else None

    def scrub(self, text: str) -> str:
        """``text`` with every configured token replaced (error messages, logs)."""
        for _user, token in self.by_prefix.values():
            if len(token) >= 6:  # shorter "tokens" would mangle ordinary words
                text = text.replace(token, "***")
        return text


NO_CREDENTIALS = GitCredentials()


def _client(location: RepoLocation, credentials: GitCredentials,
            timeout_s: float) -> tuple[Any, str]:
    from dulwich.client import HttpGitClient, LocalGitClient

    if location.url.startswith("file://"):
        return LocalGitClient(quiet=True), str(location.local_path)
    auth = credentials.for_url(location.url)
    parts = urlsplit(location.url)
    base = urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/") + "/", "", ""))
    client = HttpGitClient(base, timeout=timeout_s, quiet=True,
                           username=auth[0] if auth else None,
                           password=auth[1] if auth else None)
    return client, parts.path or "/"


def _classify(exc: BaseException, url: str, credentials: GitCredentials) -> Exception:
    """A dulwich / urllib3 / OS error as one of the two verbs, in plain words."""
    from dulwich.errors import HangupException, NotGitRepository

    name = type(exc).__name__
    text = credentials.scrub(str(exc))
    if isinstance(exc, RepoRejectedError | RepoUnreachableError):
        return exc
    if isinstance(exc, NotGitRepository):
        what = "the path" if url.startswith("file:") else "the URL's spelling"
        return RepoRejectedError(f"{url} is not a git repository (nothing found there; "
                                 f"check {what})", code="not_a_repository")
    if name == "HTTPUnauthorized" or re.search(r"\b40[13]\b", text):
        return RepoRejectedError(
            f"{url}: the server refused access (authentication required or denied): "
            "check the URL's spelling (hosts such as GitHub answer so for a repository "
            "that does not exist); a private repository needs a token for its URL in "
            "TICKETFLOW_GIT_CREDENTIALS",
            code="repo_access_denied")
    if isinstance(exc, ValueError) and "info/refs" in text:
        return RepoRejectedError(f"{url} is not a git repository (the server does not speak "
                                 "git's HTTP protocol there)", code="not_a_repository")
    if "404" in text or "Not Found" in text:
        return RepoRejectedError(f"{url} is not a git repository (HTTP 404: check the "
                                 "URL's spelling)", code="not_a_repository")
    lowered = text.lower()
    for needle, what in (("nameresolution", "the host name does not resolve"),
                         ("name or service not known", "the host name does not resolve"),
                         ("connection refused", "connection refused"),
                         ("timed out", "timed out"), ("timeout", "timed out")):
        if needle in lowered:
            return RepoUnreachableError(f"cannot reach {url}: {what}",
                                        code="repo_unreachable")
    if isinstance(exc, HangupException | ConnectionError | TimeoutError | OSError):
        return RepoUnreachableError(f"cannot reach {url}: {text or name}",
                                    code="repo_unreachable")
    if re.search(r"\b5\d\d\b", text):
        return RepoUnreachableError(f"{url}: server error ({text[:200]})",
                                    code="repo_unreachable")
    if "max retries exceeded" in lowered:
        return RepoUnreachableError(f"cannot reach {url}: {text[:200]}",
                                    code="repo_unreachable")
    return RepoRejectedError(f"{url}: {name}: {text[:300]}", code="fetch_failed")


@dataclass(frozen=True)
class Resolved:
    """What a ref named when it was resolved: the commit, and the ref's full name
    (``None`` when the ref was a commit id)."""

    commit: str
    ref_name: str | None


def _pick(refs: dict[bytes, bytes], symrefs: dict[bytes, bytes], ref: str | None,
          url: str, peel: Callable[[bytes], bytes | None] | None = None) -> Resolved:
    if ref is None or ref in ("", "HEAD"):
        head = refs.get(b"HEAD")
        if head is None:
            raise RepoRejectedError(f"{url} has no default branch (is it empty?)",
                                    code="ref_not_found")
        target = symrefs.get(b"HEAD")
        return Resolved(head.decode(), target.decode() if target else "HEAD")
    for name in (ref, f"refs/heads/{ref}", f"refs/tags/{ref}"):
        # an annotated tag names a tag object: its commit is the peeled value, which
        # smart HTTP advertises as "<name>^{}" and a local repository computes
        peeled = refs.get(f"{name}^{{}}".encode())
        if peeled is None and peel is not None and name.startswith("refs/tags/") \
                and name.encode() in refs:
            peeled = peel(name.encode())
        sha = peeled or refs.get(name.encode())
        if sha is not None:
            return Resolved(sha.decode(), name)
    lowered = ref.lower()
    if _HEX40.match(lowered):
        return Resolved(lowered, None)
    if _HEX_SHORT.match(lowered):
        hits = {v.decode() for v in refs.values() if v.decode().startswith(lowered)}
        if len(hits) == 1:
            return Resolved(hits.pop(), None)
    heads = sorted(k.decode().removeprefix("refs/heads/") for k in refs
                   if k.startswith(b"refs/heads/"))
    shown = ", ".join(heads[:8]) + (" ..." if len(heads) > 8 else "")
    raise RepoRejectedError(f"{url}: no branch, tag or commit '{ref}' (branches: "
                            f"{shown or 'none'}); a commit must be given in full (40 hex "
                            "digits) unless a branch or tag points at it",
                            code="ref_not_found")


def resolve(location: RepoLocation, ref: str | None, *,
            credentials: GitCredentials = NO_CREDENTIALS, timeout_s: float = 20.0) -> Resolved:
    """Resolve ``ref`` (branch, tag, commit; ``None``: the default branch) to a commit
    by listing the remote's refs (one round trip, no objects fetched)."""
    if location.kind != "git":
        raise ValueError("a local directory has no refs to resolve")
    client, path = _client(location, credentials, timeout_s)
    try:
        result = client.get_refs(path)
    except Exception as exc:
        raise _classify(exc, location.url, credentials) from None
    refs = dict(getattr(result, "refs", result) or {})
    symrefs = dict(getattr(result, "symrefs", {}) or {})
    return _pick(refs, symrefs, ref, location.url,
                 _local_peel(location.local_path) if location.url.startswith("file://")
                 else None)


def _local_peel(path: Path) -> Callable[[bytes], bytes | None]:
    def peel(name: bytes) -> bytes | None:
        from dulwich.repo import Repo

        with Repo(str(path)) as repo:
            try:
                value: bytes = repo.get_peeled(name)  # type: ignore[arg-type]
            except KeyError:
                return None
            return value

    return peel


@dataclass(frozen=True)
class GitFile:
    """One indexable file of a fetched tree (repo-relative POSIX path, blob id)."""

    path: str
    blob: bytes
    store: Any

    def read(self) -> bytes:
        data: bytes = self.store[self.blob].as_raw_string()
        return data


@dataclass
class FetchedTree:
    """A fetched commit: its tree's indexable files, listed lazily from the pack."""

    commit: str
    pack_bytes: int
    repo: Any
    skipped: dict[str, int] = field(default_factory=dict)

    def files(self) -> list[GitFile]:
        """Regular files of the tree, minus skipped folders, generated and secret-looking
        files; symbolic links and submodules are never followed."""
        store = self.repo.object_store
        tree = self.repo[self.commit.encode()].tree
        out: list[GitFile] = []
        skipped = {"symlink": 0, "submodule": 0, "excluded": 0, "skipped_dir": 0}
        build = BuildOutput()
        held: dict[str, Any] = {}
        for entry in store.iter_tree_contents(tree):
            mode = entry.mode
            if stat.S_ISLNK(mode):
                skipped["symlink"] += 1
                continue
            if not stat.S_ISREG(mode):
                skipped["submodule"] += 1
                continue
            rel = os.fsdecode(entry.path)
            if not build.offer(rel):
                held[rel] = entry.sha
                continue
            if excluded(rel):
                skipped["excluded"] += 1
                continue
            out.append(GitFile(rel, entry.sha, store))
        released = build.released()
        out.extend(GitFile(rel, held[rel], store) for rel in released)
        skipped["skipped_dir"] = len(held) - len(released)
        self.skipped = skipped
        return out


def fetch_commit(location: RepoLocation, commit: str, workdir: Path, *,
                 credentials: GitCredentials = NO_CREDENTIALS, timeout_s: float = 60.0,
                 max_bytes: int | None = None, deadline: float | None = None) -> FetchedTree:
    """Fetch ``commit`` (shallow, ``depth=1``) into a new bare repository in ``workdir``.

    Stops with :class:`RepoTooLargeError` once the pack exceeds ``max_bytes``, and with
    :class:`RepoRejectedError` past ``deadline`` (a ``time.monotonic()`` value)."""
    from dulwich.repo import Repo

    client, path = _client(location, credentials, timeout_s)
    target = Repo.init_bare(str(workdir), mkdir=not workdir.exists())
    received = 0
    # Servers may insist on thin packs; with nothing on our side a pack has no outside
    # bases, and add_thin_pack stores it either way. Spooled to disk, not memory.
    pack = (workdir / "incoming.pack").open("w+b")

    def write(data: bytes) -> int:
        nonlocal received
        received += len(data)
        if max_bytes is not None and received > max_bytes:
            raise RepoTooLargeError(
                f"{location.url} is too large to index: its pack exceeds "
                f"{max_bytes:,} bytes (TICKETFLOW_INDEX_MAX_BYTES)")
        if deadline is not None and time.monotonic() > deadline:
            raise RepoRejectedError(f"fetching {location.url} did not finish in time",
                                    code="index_deadline")
        return pack.write(data)

    want = commit.encode()
    try:
        with pack:
            client.fetch_pack(path, lambda refs, depth=None: [want],
                              target.get_graph_walker(), write, depth=1)
            if pack.tell():
                pack.seek(0)
                target.object_store.add_thin_pack(pack.read, None)
    except Exception as exc:
        raise _classify(exc, location.url, credentials) from None
    finally:
        (workdir / "incoming.pack").unlink(missing_ok=True)
    try:
        target[want]
    except KeyError:
        raise RepoRejectedError(f"{location.url}: commit {commit} is not available from the "
                                "server", code="ref_not_found") from None
    return FetchedTree(commit=commit, pack_bytes=received, repo=target)


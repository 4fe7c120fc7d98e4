"""Fetching repositories by URL with dulwich: URL rules, ref resolution, shallow
fetch, what a fetched tree offers for indexing, and errors in plain words. Real git
repositories (made with dulwich), served over smart HTTP from 127.0.0.1 and over
``file://``; no ``git`` binary is used."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from dulwich import porcelain
from dulwich.repo import Repo

from ticketflow.repo_index.fetch import (
    GitCredentials,
    RepoLocation,
    RepoRejectedError,
    RepoTooLargeError,
    RepoUnreachableError,
    fetch_commit,
    parse_location,
    resolve,
)
from ticketflow.repo_index.walker import secret_reason, walk
from ticketflow.testing.git_repos import GitHttpServer, commit_files, make_repo

FILES = {
    "app/main.py": "def main():\n    return 1\n",
    "app/util.py": "def helper():\n    pass\n",
    "README.md": "# demo\n",
    "deploy/id_rsa": "-----BEGIN OPENSSH PRIVATE KEY-----\nSECRETKEYVALUE\n",
    "certs/server.pem": "-----BEGIN CERTIFICATE-----\nSECRETPEM\n",
    ".env.production": "API_TOKEN=SECRETENVVALUE\n",
    "node_modules/lib/index.js": "module.exports = 1;\n",
}


@pytest.fixture(scope="module")
def origin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("origin") / "repo"
    make_repo(path, FILES)
    (path / "link_out").symlink_to("/etc/hostname")
    with Repo(str(path)) as repo:
        porcelain.add(repo, [str(path / "link_out")])
        porcelain.commit(repo, message=b"a link", author=b"t <t@x>", committer=b"t <t@x>")
        porcelain.tag_create(repo, b"v1", message=b"release", annotated=True,
                             author=b"t <t@x>")
    commit_files(path, {"app/main.py": "def main():\n    return 2\n"}, message="second")
    return path


@pytest.fixture(scope="module")
def server(origin: Path) -> Iterator[GitHttpServer]:
    with GitHttpServer({"demo.git": origin}) as srv:
        yield srv


@pytest.fixture(params=["http", "file"])
def location(request: pytest.FixtureRequest, origin: Path, server: GitHttpServer) -> RepoLocation:
    url = server.repo_url("demo.git") if request.param == "http" else f"file://{origin}"
    return parse_location(url)


def head_of(path: Path) -> str:
    with Repo(str(path)) as repo:
        return repo.head().decode()


# -- URLs ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "url"), [
    ("https://GitHub.com/acme/app.git/", "https://github.com/acme/app.git"),
    ("  https://example.org:8443/x  ", "https://example.org:8443/x"),
    ("file:///srv/repos/../repos/app", "file:///srv/repos/app"),
])
def test_urls_are_canonical(raw: str, url: str) -> None:
    assert parse_location(raw) == RepoLocation(url, "git")


@pytest.mark.parametrize(("raw", "words"), [
    ("git@github.com:acme/app.git", "SSH and git:// URLs are not supported"),
    ("ssh://git@host/x", "SSH and git:// URLs are not supported"),
    ("https://user:pw@github.com/acme/app", "must not contain credentials"),
    ("ftp://host/x", "scheme is not allowed"),
    ("file://relative/x", "names a path on this machine"),
    ("/srv/app", "a local path cannot be read here"),
    ("", "a repository URL is required"),
    ("https://host/x?a=1", "no query or fragment"),
])
def test_bad_urls_are_refused_with_the_reason(raw: str, words: str) -> None:
    with pytest.raises(RepoRejectedError, match=words):
        parse_location(raw)


def test_a_deployment_can_allow_https_only() -> None:
    with pytest.raises(RepoRejectedError, match="http:// scheme is not allowed"):
        parse_location("http://127.0.0.1/x", schemes=frozenset({"https"}))


def test_a_local_directory_only_where_allowed(tmp_path: Path) -> None:
    assert parse_location(str(tmp_path), allow_local=True) == RepoLocation(
        str(tmp_path.resolve()), "path")
    with pytest.raises(RepoRejectedError, match="no such directory"):
        parse_location(str(tmp_path / "missing"), allow_local=True)


# -- refs --------------------------------------------------------------------------------


def test_refs_resolve_to_commits(location: RepoLocation, origin: Path) -> None:
    head = head_of(origin)
    assert resolve(location, None).commit == head
    assert resolve(location, "master").commit == head
    assert resolve(location, "refs/heads/master").ref_name == "refs/heads/master"
    with Repo(str(origin)) as repo:
        tagged = repo[repo.refs[b"refs/tags/v1"]].object[1].decode()  # the annotated tag
    assert resolve(location, "v1").commit == tagged != head
    assert resolve(location, head).commit == head
    assert resolve(location, head[:10]).commit == head


def test_an_unknown_ref_names_the_branches(location: RepoLocation) -> None:
    with pytest.raises(RepoRejectedError, match=r"no branch, tag or commit 'nope' "
                                                r"\(branches: master\)"):
        resolve(location, "nope")


# -- fetching ------------------------------------------------------------------------------


def test_a_shallow_fetch_has_the_tree_but_not_the_history(
        location: RepoLocation, origin: Path, tmp_path: Path) -> None:
    head = head_of(origin)
    tree = fetch_commit(location, head, tmp_path / "clone.git")
    with Repo(str(origin)) as full:
        parent = full[head.encode()].parents[0]
    assert head.encode() in tree.repo.object_store
    assert parent not in tree.repo.object_store  # depth 1: not the parent commit
    files = {f.path: f for f in tree.files()}
    assert sorted(files) == ["README.md", "app/main.py", "app/util.py"]
    assert files["app/main.py"].read() == b"def main():\n    return 2\n"
    # never indexed: secrets, a vendored folder, and the symbolic link
    assert tree.skipped == {"symlink": 1, "submodule": 0, "excluded": 3, "skipped_dir": 1}
    assert not (tmp_path / "clone.git" / "incoming.pack").exists()


def test_the_pack_size_is_bounded(location: RepoLocation, origin: Path, tmp_path: Path) -> None:
    with pytest.raises(RepoTooLargeError, match="too large to index: its pack exceeds 100 "
                                                "bytes"):
        fetch_commit(location, head_of(origin), tmp_path / "c.git", max_bytes=100)


def test_a_commit_the_server_does_not_have(location: RepoLocation, tmp_path: Path) -> None:
    with pytest.raises(RepoRejectedError):
        fetch_commit(location, "0" * 40, tmp_path / "c.git")


# -- errors people can act on ----------------------------------------------------------------



class _Html(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        code = 404 if "missing" in self.path else 200
        self.send_response(code)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(b"<html><body>a web page</body></html>")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def web_page() -> Iterator[str]:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Html)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def test_unreachable_is_retryable(closed_port: int) -> None:
    loc = parse_location(f"http://127.0.0.1:{closed_port}/x.git")
    with pytest.raises(RepoUnreachableError, match=r"cannot reach .*connection refused"):
        resolve(loc, None, timeout_s=5)


@pytest.mark.parametrize("path", ["/site", "/missing/repo.git"])
def test_not_a_git_repository_is_terminal(web_page: str, path: str) -> None:
    with pytest.raises(RepoRejectedError, match="is not a git repository"):
        resolve(parse_location(web_page + path), None, timeout_s=5)


def test_a_local_folder_that_is_not_a_repository(tmp_path: Path) -> None:
    with pytest.raises(RepoRejectedError, match="is not a git repository"):
        resolve(parse_location(f"file://{tmp_path}"), None)


# -- a misspelt URL: a message that says what to check --------------------------------------


@pytest.mark.parametrize("allow_local", [False, True])
def test_a_url_typed_without_its_scheme(allow_local: bool) -> None:
    with pytest.raises(RepoRejectedError,
                       match=r"no scheme; did you mean https://github\.com/acme/app"):
        parse_location("github.com/acme/app", allow_local=allow_local)


def test_a_misspelt_path_on_a_git_server(server: GitHttpServer) -> None:
    with pytest.raises(RepoRejectedError,
                       match=r"not a git repository .*check the URL's spelling"):
        resolve(parse_location(server.repo_url("orgin.git")), None, timeout_s=5)
    assert any("/orgin.git/" in p for _m, p, _s in server.requests)  # the server was asked


def test_a_misspelt_file_url(origin: Path) -> None:
    with pytest.raises(RepoRejectedError, match=r"not a git repository .*check the path"):
        resolve(parse_location(f"file://{origin}-typo"), None)


def test_private_repository_with_a_token(origin: Path) -> None:
    token = "tok-" + os.urandom(8).hex()
    with GitHttpServer({"private.git": origin}, credentials=("x-access-token", token)) as srv:
        loc = parse_location(srv.repo_url("private.git"))
        with pytest.raises(RepoRejectedError, match="refused access") as denied:
            resolve(loc, None)
        assert "check the URL's spelling" in str(denied.value)  # a 401 may be a typo
        wrong = GitCredentials.parse(f'{{"{srv.url}/": "not-{token}"}}')
        with pytest.raises(RepoRejectedError, match="refused access") as refused:
            resolve(loc, None, credentials=wrong)
        creds = GitCredentials.parse(f'{{"{srv.url}/": "{token}"}}')
        assert resolve(loc, None, credentials=creds).commit == head_of(origin)
    assert token not in str(denied.value) and token not in str(refused.value)
    assert [s for _m, _p, s in srv.requests].count(401) >= 2


def test_credentials_pick_the_longest_prefix() -> None:
    creds = GitCredentials.parse('{"https://h/": "tok-aaaa", "https://h/team/": "bob:tok-bbbb"}')
    assert creds.for_url("https://h/team/app") == ("bob", "tok-bbbb")
    assert creds.for_url("https://h/other") == ("x-access-token", "tok-aaaa")
    assert creds.for_url("https://elsewhere/x") is None
    assert creds.scrub("failed with tok-aaaa and tok-bbbb") == "failed with *** and ***"
    with pytest.raises(ValueError, match="JSON object"):
        GitCredentials.parse('["x"]')


# -- the walker's bounds (local directories) -----------------------------------------------------


def test_walk_never_follows_a_symlink_out_of_the_tree(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "leak.py").write_text("SECRET = 'outside the tree'\n")
    root = tmp_path / "root"
    (root / "src").mkdir(parents=True)
    (root / "src" / "ok.py").write_text("x = 1\n")
    (root / "linked").symlink_to(outside, target_is_directory=True)
    (root / "inner").symlink_to(root / "src", target_is_directory=True)
    (root / "file_link.py").symlink_to(root / "src" / "ok.py")
    (root / "id_ed25519").write_text("KEY\n")
    assert [f.path for f in walk(root)] == ["src/ok.py"]


@pytest.mark.parametrize(("name", "secret"), [
    ("keys/id_rsa", True), ("id_rsa.pub", True), ("x/server.key", True), ("a.p12", True),
    ("store.jks", True), (".env.production", True), (".netrc", True), ("secrets.yaml", True),
    (".env", False), (".env.example", False), ("keyboard.py", False), ("app/env.py", False),
    ("config/secrets.yml", True), ("secrets.json", True), ("secrets", True),
    ("secrets.prod.json", True), ("services/secrets.py", False), ("api/secrets.ts", False),
])
def test_secret_looking_files(name: str, secret: bool) -> None:
    assert (secret_reason(name) is not None) is secret

"""W5: repository indexing, cold and incremental (definitions: docs/benchmarks.md).

Two repositories of public code nobody on the team wrote, from npm tarballs
(``npm pack NAME@VERSION``, cached in ``bench/.cache/w5/``, git-ignored), each made
into a git repository with dulwich:

* ``small``: aws-sdk 2.1691.0 (about 2,300 files);
* ``large``: a monorepo of eight packages (antd, date-fns, core-js, @mui/material,
  aws-sdk, echarts, lodash, three; about 20,000 files to index).

Each is served over git's smart HTTP protocol from 127.0.0.1 (dulwich's server in
this process) and indexed through the index task as a deployed function runs it
(``Indexer.run``: shallow fetch, build, mark ready), each measurement in a fresh
child process so that its peak resident memory is its own:

* ``cold``: the first index of the head commit into an empty libSQL file;
* ``incremental``: the next commit, which rewrites 1% of the files, indexed from the
  cold index (only the changed files are extracted; the rest are copied);
* ``walk``: the peer in the same run, the same tree indexed from a local directory
  in place (no fetch, no copy) into an empty file.

    python bench/w5.py            # both repositories; one JSON object as the last line
    python bench/w5.py --only small
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "bench" / ".cache" / "w5"
SETS: dict[str, list[str]] = {
    "small": ["aws-sdk@2.1691.0"],
    "large": ["antd@5.21.0", "date-fns@3.6.0", "core-js@3.38.1", "@mui/material@5.16.7",
              "aws-sdk@2.1691.0", "echarts@5.5.1", "lodash@4.17.21", "three@0.169.0"],
}
CHANGE_SHARE = 0.01


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def tarball(spec: str) -> Path:
    dl = CACHE / "dl"
    dl.mkdir(parents=True, exist_ok=True)
    name, _, version = spec.rpartition("@")
    stem = name.lstrip("@").replace("/", "-")
    target = dl / f"{stem}-{version}.tgz"
    if not target.exists():
        log(f"downloading {spec} (npm pack)")
        subprocess.run(["npm", "pack", spec, "--silent", "--pack-destination", str(dl)],
                       check=True, stdout=subprocess.DEVNULL)
    return target


def repository(which: str) -> Path:
    """The git repository of a set (made once): one folder per package."""
    from ticketflow.testing.git_repos import make_repo

    repo = CACHE / which
    if (repo / ".git").is_dir():
        return repo
    shutil.rmtree(repo, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(prefix="w5-"))
    try:
        for spec in SETS[which]:
            name = spec.rpartition("@")[0].lstrip("@").replace("/", "-")
            with tarfile.open(tarball(spec)) as tar:
                tar.extractall(staging / name, filter="data")
            inner = staging / name / "package"
            if inner.is_dir():  # npm tarballs hold a "package/" folder
                for child in inner.iterdir():
                    child.rename(staging / name / child.name)
                inner.rmdir()
        log(f"making the {which} git repository")
        t0 = time.perf_counter()
        make_repo(repo, staging, message=f"{which}: " + ", ".join(SETS[which]))
        log(f"  {time.perf_counter() - t0:.1f}s")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return repo


def second_commit(repo: Path) -> str:
    """A commit that rewrites 1% of the indexable files (made once per set)."""
    from dulwich.repo import Repo

    from ticketflow.repo_index.walker import walk
    from ticketflow.testing.git_repos import commit_files

    marker = repo / ".w5-second"  # made once per set: "first second changed"
    if marker.exists():
        return marker.read_text().split()[1]
    with Repo(str(repo)) as r:
        head = r.head().decode()
    files = sorted(f.path for f in walk(repo))
    step = max(1, round(1 / CHANGE_SHARE))
    picked = files[::step]
    changes = {p: (repo / p).read_text(errors="replace") + "\n// changed by w5\n"
               for p in picked}
    second = commit_files(repo, changes, message=f"w5: {len(changes)} files changed")
    marker.write_text(f"{head} {second} {len(changes)}")
    return second


def point_master(repo: Path, commit: str) -> None:
    """Move the branch the registration follows (a push, as far as indexing can tell)."""
    from dulwich.repo import Repo

    with Repo(str(repo)) as r:
        r.refs[b"refs/heads/master"] = commit.encode()


# -- one measurement, in a child process ---------------------------------------------------------


def measure(mode: str, url: str, db: Path, ref: str | None) -> dict[str, Any]:
    """Run in a child: index ``url`` (at ``ref``) into ``db`` and report."""
    from ticketflow.compose.embedded import open_embedded
    from ticketflow.settings import Settings

    app = open_embedded(Settings(db_url=f"file:{db}", llm="offline",  # type: ignore[call-arg]
                                 index_workdir=str(db.parent / "work")))
    try:
        t0 = time.perf_counter()
        if mode == "walk":
            status = app.index.index(url)
            seconds = time.perf_counter() - t0
            out = {"state": status.state, "error": status.error, "files": status.files_done,
                   "seconds": seconds}
        else:
            rec = app.index_repository(url, ref, timeout_s=3600)
            seconds = time.perf_counter() - t0
            out = {"state": rec.state, "error": rec.status.error, "files": rec.status.files_done,
                   "seconds": seconds, "commit": rec.commit, **rec.stats.model_dump(
                       exclude={"skipped"})}
    finally:
        app.close()
    out["peak_rss_mb"] = peak_rss_mb()
    return out


def peak_rss_mb() -> float:
    """This process's peak resident memory. ``VmHWM`` belongs to the address space
    that exec created; ``ru_maxrss`` would carry the parent's peak across exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def child(mode: str, url: str, db: Path, ref: str | None) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", mode, url, str(db)] + ([ref] if ref else [])
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{mode} of {url} failed:\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def run_set(which: str) -> dict[str, Any]:
    from dulwich.repo import Repo

    from ticketflow.testing.git_repos import GitHttpServer

    repo = repository(which)
    second = second_commit(repo)
    with Repo(str(repo)) as r:
        first = r[second.encode()].parents[0].decode()
        size = sum(1 for _ in r.object_store.iter_tree_contents(r[first.encode()].tree))
    work = Path(tempfile.mkdtemp(prefix=f"w5-{which}-"))
    try:
        with GitHttpServer({f"{which}.git": repo}) as server:
            url = server.repo_url(f"{which}.git")
            db = work / "index.db"
            log(f"{which}: cold index of {first[:12]} ({size} files in the tree)")
            point_master(repo, first)
            cold = child("task", url, db, None)
            log(f"  {cold['seconds']:.1f}s, {cold['peak_rss_mb']} MB")
            log(f"{which}: incremental index of {second[:12]}")
            point_master(repo, second)
            incr = child("task", url, db, None)
            assert incr["commit"] == second and cold["commit"] == first, (cold, incr)
            log(f"  {incr['seconds']:.1f}s, {incr['peak_rss_mb']} MB")
        checkout = work / "tree"
        subprocess.run([sys.executable, "-c", (
            "import sys; from dulwich import porcelain; "
            "porcelain.clone(sys.argv[1], sys.argv[2], depth=1, checkout=True)"),
            str(repo), str(checkout)], check=True, capture_output=True)
        log(f"{which}: local directory walk (peer)")
        walk = child("walk", str(checkout), work / "walk.db", None)
        log(f"  {walk['seconds']:.1f}s, {walk['peak_rss_mb']} MB")
        db_mb = round(db.stat().st_size / 1e6, 1)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {
        "packages": SETS[which], "tree_files": size, "indexed_files": cold["files"],
        "cold_s": round(cold["seconds"], 2), "cold_fetch_s": cold["fetch_s"],
        "cold_build_s": cold["build_s"], "cold_peak_rss_mb": cold["peak_rss_mb"],
        "pack_mb": round(cold["pack_bytes"] / 1e6, 1),
        "incremental_s": round(incr["seconds"], 2), "incremental_fetch_s": incr["fetch_s"],
        "incremental_build_s": incr["build_s"], "incremental_peak_rss_mb": incr["peak_rss_mb"],
        "incremental_extracted": incr["extracted"], "incremental_copied": incr["copied"],
        "walk_s": round(walk["seconds"], 2), "walk_peak_rss_mb": walk["peak_rss_mb"],
        "walk_files": walk["files"],
        "incremental_over_cold": round(incr["seconds"] / cold["seconds"], 3),
        "cold_over_walk": round(cold["seconds"] / walk["seconds"], 3),
        "db_mb_two_commits": db_mb,
        "states": [cold["state"], incr["state"], walk["state"]],
    }


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        mode, url, db = sys.argv[2], sys.argv[3], Path(sys.argv[4])
        ref = sys.argv[5] if len(sys.argv) > 5 else None
        print(json.dumps(measure(mode, url, db, ref)))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=sorted(SETS))
    args = parser.parse_args()
    result = {which: run_set(which) for which in SETS if args.only in (None, which)}
    print(json.dumps({"w5": result}))


if __name__ == "__main__":
    main()

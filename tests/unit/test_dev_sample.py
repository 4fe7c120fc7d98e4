"""The sample repository ``ticketflow dev`` offers: a git repository made of the
bundled folder, kept between starts, made again when the folder changes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from dulwich.object_store import iter_tree_contents
from dulwich.repo import Repo

from ticketflow.dev.sample import SAMPLE_SOURCE, prepare_sample


def _tree(path: Path) -> dict[str, bytes]:
    with Repo(str(path)) as repo:
        tree = repo[repo.head()].tree  # type: ignore[attr-defined]
        return {e.path.decode(): repo[e.sha].as_raw_string()
                for e in iter_tree_contents(repo.object_store, tree)}


def test_made_of_the_bundled_folder_then_kept(tmp_path: Path) -> None:
    first = prepare_sample(tmp_path / "sample")
    assert first.made and first.url == f"file://{tmp_path / 'sample'}"
    files = _tree(tmp_path / "sample")
    expected = {p.relative_to(SAMPLE_SOURCE).as_posix(): p.read_bytes()
                for p in SAMPLE_SOURCE.rglob("*") if p.is_file()
                and "__pycache__" not in p.parts}
    assert files == expected
    again = prepare_sample(tmp_path / "sample")
    assert not again.made and again.commit == first.commit


def test_a_changed_folder_is_made_again(tmp_path: Path) -> None:
    source = tmp_path / "src"
    shutil.copytree(SAMPLE_SOURCE, source)
    first = prepare_sample(tmp_path / "sample", source)
    (source / "billing" / "pdf.py").write_text("# changed\n")
    second = prepare_sample(tmp_path / "sample", source)
    assert second.made and second.commit != first.commit
    assert _tree(tmp_path / "sample")["billing/pdf.py"] == b"# changed\n"


def test_a_missing_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="sample repository"):
        prepare_sample(tmp_path / "sample", tmp_path / "nowhere")

"""Helpers several test modules share (pytest-aware, so not in ``ticketflow.testing``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Protocol, TypeVar

import pytest

from ticketflow.adapters.libsql.repo_index import LibsqlRepoIndex
from ticketflow.dev.emulators import PROJECT_ROOT, EmulatorError
from ticketflow.dev.stack import Stack
from ticketflow.testing.cloud import cloud_stack


class Startable(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...


P = TypeVar("P", bound=Startable)


def running(part: P, what: str) -> Iterator[P]:
    """Start ``part`` for a fixture, failing the test (not erroring) with the reason
    when it cannot start; stop it afterwards."""
    try:
        part.start()
    except EmulatorError as exc:
        pytest.fail(f"{what} did not start: {exc}", pytrace=False)
    try:
        yield part
    finally:
        part.stop()


def running_cloud_stack(name: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The shared emulators of a module (:func:`ticketflow.testing.cloud.cloud_stack`),
    logs in ``test-artifacts/name``."""
    stack = cloud_stack(PROJECT_ROOT / "test-artifacts" / name,
                        state_dir=tmp_path_factory.mktemp(name))
    yield from running(stack, "emulator stack")


def write_files(root: Path, files: dict[str, str]) -> Path:
    """``files`` (relative path -> text) written under ``root``."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def indexed(index: LibsqlRepoIndex, tmp_path: Path, files: dict[str, str]) -> str:
    """A repository of ``files`` under ``tmp_path/repo``, indexed; its root."""
    root = write_files(tmp_path / "repo", files)
    assert index.index(str(root)).state == "ready"
    return str(root)

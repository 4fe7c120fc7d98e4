"""Bundled sample ticket requests (``ticketflow generate --sample NAME``)."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

HERE = Path(__file__).parent
PROJECT_ROOT = HERE.parents[2]


class Sample(BaseModel):
    title: str
    description: str
    repo: Path | None = None


def sample_names() -> list[str]:
    return sorted(p.stem for p in (HERE / "requests").glob("*.json"))


def load_sample(name: str) -> Sample:
    path = HERE / "requests" / f"{name}.json"
    if not path.exists():
        raise LookupError(f"no sample '{name}'; choose one of: {', '.join(sample_names())}")
    data = json.loads(path.read_text())
    repo = data.pop("repo", None)
    sample = Sample.model_validate(data)
    if repo:
        sample.repo = (PROJECT_ROOT / repo).resolve()
        if not sample.repo.is_dir():
            raise LookupError(f"sample repository {sample.repo} is missing from this checkout")
    return sample

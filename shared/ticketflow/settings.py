"""Settings, from ``TICKETFLOW_*`` environment variables (and ``.env``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConfigurationError(Exception):
    """A setting that cannot work (an unknown or retired model, say): reported when the
    application is built, before any run starts."""


class Settings(BaseSettings):
    """Everything a deployment may tune. Defaults suit the embedded default."""

    model_config = SettingsConfigDict(env_prefix="TICKETFLOW_", env_file=".env",
                                      extra="ignore")

    db_url: str = Field("file:.ticketflow/ticketflow.db",
                        description="libSQL URL: file:PATH, libsql://, https:// or wss://")
    db_auth_token: str | None = None
    db_driver: Literal["native", "libsql-client"] = "native"

    llm: Literal["auto", "claude", "offline"] = "auto"
    llm_fallback: bool = Field(True, description="when the model still fails after its "
                               "retries, produce the step with the labelled offline "
                               "provider instead of failing the run")

    step_timeout_s: float | None = Field(None, description="override every step's timeout")
    lease_grace_s: float = 10.0
    run_timeout_s: float = 1800.0
    review_wait_s: float = 7 * 24 * 3600.0
    questions_wait_s: float = 7 * 24 * 3600.0
    review_expiry_policy: Literal["cancel", "proceed"] = "cancel"
    questions_expiry_policy: Literal["skip"] = "skip"
    index_wait_s: float = 5.0
    # Repository indexing (the index_repository task): bounds, retries, access.
    index_max_files: int = Field(50_000, ge=1, description="more files: the index fails")
    index_max_bytes: int = Field(500_000_000, ge=1, description="pack and text bytes cap")
    index_deadline_s: float = Field(1500.0, gt=0, description="all attempts of one index")
    index_max_attempts: int = Field(5, ge=1)
    index_lease_s: float = Field(60.0, gt=0, description="a builder renews it as it goes")
    index_backoff_s: float = Field(2.0, ge=0)
    index_resolve_timeout_s: float = Field(20.0, gt=0)
    index_fetch_timeout_s: float = Field(120.0, gt=0)
    index_keep: int = Field(3, ge=1, description="finished indexes kept per repository")
    index_workdir: str | None = Field(None, description="temporary clones (default: TMPDIR)")
    repo_url_schemes: str = Field("https,http,file", description="comma-separated; a "
                                  "deployment allows https only")
    git_credentials: SecretStr | None = Field(
        None, description="JSON {URL prefix: token}: private https repositories")
    retry_backoff_scale: float = 1.0

    workers: int = 2
    poll_s: float = 0.5
    sweep_interval_s: float = 5.0
    outbox_grace_s: float = 5.0
    stall_after_s: float = 300.0
    max_deliveries: int = 100

"""One validated ``Settings`` object, read from ``DOTIFY_*`` environment variables.

All state lives under ``home`` (``DOTIFY_HOME``, default ``~/.dotify``): the SQLite
database, raw chart files, models and reports, so two homes never interfere.
``DOTIFY_DATABASE_URL`` (or ``--db``) points the store at any SQLAlchemy URL instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_HOME = Path("~/.dotify")
LEGACY_URL_TEMPLATE = "https://spotifycharts.com/regional/{market}/{kind}/{date}/download"


class Settings(BaseSettings):
    """Every setting dotify reads. Pass one into library calls; never a module global."""

    model_config = SettingsConfigDict(env_prefix="DOTIFY_", extra="ignore")

    home: Path = Field(default=DEFAULT_HOME, description="folder holding all dotify state")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default SQLite")

    # chart sources for the nightly job
    source: Literal["simulator", "http", "folder"] = "simulator"
    http_url_template: str = LEGACY_URL_TEMPLATE
    http_format: Literal["csv", "json"] = "csv"
    http_token: str | None = None
    http_timeout_s: float = Field(default=30.0, gt=0, description="seconds per try, in all")
    http_retries: int = Field(default=3, ge=0)
    http_concurrency: int = Field(default=4, ge=1)
    http_requests_per_s: float = Field(default=2.0, gt=0)
    drop_folder: Path | None = None
    markets: list[str] | None = None  # None: every market of the registry (or of the simulator)
    chart_kind: Literal["daily", "weekly"] = "daily"

    # the nightly job
    backfill_days: int = Field(default=30, ge=1)
    window_days: int | None = Field(default=None, ge=1, description="ratings window; None: all")
    # what train, evaluate, tune, compare, the demo and the nightly job learn: the (country,
    # song) pairs charted in the last N days of the window ("all": every pair), so that a
    # model's size follows the recent charts, not the history
    active_days: int | None = Field(default=365, ge=1,
                                    description="learn the pairs charted in the last N days")
    # a network that stops early (bpr-net) searches its epochs again after this many days of
    # charts; in between the nightly job trains the epochs the live model's search chose
    epochs_search_days: int = Field(default=7, ge=1)
    gate_tolerance: float = Field(default=0.01, ge=0.0)
    keep_versions: int = Field(default=5, ge=1)
    nightly_at: str | None = None

    # web
    admin_token: str | None = None
    # "Save to Spotify" (Authorization Code with PKCE): on when a client ID is set; the
    # redirect URI defaults to this server's /spotify/callback; the base URLs are settings so
    # that tests can point them at a local stand-in
    spotify_client_id: str | None = None
    spotify_redirect_uri: str | None = None
    spotify_accounts_url: str = "https://accounts.spotify.com"
    spotify_api_url: str = "https://api.spotify.com/v1"

    # distributed engine
    engine: Literal["local", "spark"] = "local"  # what train, tune and nightly run on
    spark_master: str = "local[*]"
    spark_jars: str | None = Field(default=None, description="comma-separated jars (JDBC driver)")
    spark_jdbc_url: str | None = Field(default=None, description="read charts over JDBC")
    spark_export_dir: Path | None = Field(default=None, description="Parquet export folder")

    @field_validator("active_days", mode="before")
    @classmethod
    def _all_days(cls, value: object) -> object:
        """``all`` (or nothing) for every pair of the window."""
        return None if isinstance(value, str) and value.strip().lower() in ("all", "") else value

    @field_validator("home", "drop_folder", "spark_export_dir", mode="after")
    @classmethod
    def _expand(cls, value: Path | None) -> Path | None:
        return value.expanduser().resolve() if value is not None else None

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'dotify.db'}"

    @property
    def charts_dir(self) -> Path:
        return self.home / "charts"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"

    @property
    def simulator_dir(self) -> Path:
        return self.home / "simulator"

    def ensure_dirs(self) -> None:
        for folder in (self.home, self.charts_dir, self.models_dir, self.reports_dir):
            folder.mkdir(parents=True, exist_ok=True)

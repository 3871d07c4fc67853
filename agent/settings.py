"""One typed settings object.

Precedence, highest first: explicit arguments > environment (``LINGSHU_*``) >
``lingshu.toml`` (current directory, or the file named by ``LINGSHU_CONFIG``, or by
:meth:`Settings.load`'s ``config``) > defaults. Settings are passed to the code that
needs them, never read at import.
"""

from __future__ import annotations

import os
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

DEFAULT_MODEL = "lingshu-medical-mllm/Lingshu-7B"
DEFAULT_BASE_URL = "http://127.0.0.1:8000/v1"

_CONFIG_FILE: ContextVar[Path | None] = ContextVar("lingshu_config_file", default=None)
"""The TOML file :meth:`Settings.load` was asked to read (None: ``LINGSHU_CONFIG``)."""


class ConfigFileMissing(ValueError):
    """``Settings.load(config=...)`` (``--config``) named a file that does not exist."""


def default_data_dir() -> Path:
    """The user's data directory (XDG on Linux), where sessions, images and stores live."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "lingshu"


class McpServer(BaseModel):
    """An external MCP server whose allowed tools the agent may call (``mcp_servers``)."""

    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,23}$")
    """Prefix of its tools' names (``<name>__<tool>``), so two servers never clash."""
    command: list[str] | None = None
    """A command line started as a stdio server, e.g. ``["lingshu", "mcp", "--patient", "p1"]``."""
    url: str | None = None
    """Or a streamable-HTTP endpoint, e.g. ``http://127.0.0.1:8765/mcp``."""
    tools: list[str] = Field(min_length=1)
    """The allow-list: only these of its tools are offered to the model."""
    headers: dict[str, str] = Field(default_factory=dict)
    """HTTP headers for a URL server, e.g. ``{"Authorization": "Bearer ..."}``."""
    env: dict[str, str] = Field(default_factory=dict)
    """Extra environment for a stdio server."""
    cwd: str | None = None

    @model_validator(mode="after")
    def _one_target(self) -> McpServer:
        if bool(self.command) == bool(self.url):
            raise ValueError(f"MCP server {self.name!r}: give either 'command' or 'url'")
        return self


class Settings(BaseSettings):
    """Everything a consultation needs to know about its environment."""

    model_config = SettingsConfigDict(
        env_prefix="LINGSHU_",
        toml_file="lingshu.toml",
        extra="ignore",
        validate_default=True,
    )

    config: Path | None = None
    """The TOML file these settings were read from, when one was named (``--config``,
    ``LINGSHU_CONFIG``); default: ``lingshu.toml`` in the current directory, if any."""

    # --- the model -------------------------------------------------------------------
    backend: Literal["openai", "transformers"] = "openai"
    model: str = DEFAULT_MODEL
    base_url: str = DEFAULT_BASE_URL
    api_key: str = "EMPTY"
    tool_calling: Literal["prompted", "native"] = "prompted"
    constrained_tools: Literal["on", "off", "auto"] = "auto"
    """Constrained decoding of tool calls: on | off | auto (on where the backend supports
    it: a vLLM server that takes ``structured_outputs``, transformers with xgrammar)."""
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    repetition_penalty: float = Field(1.05, gt=0.0)
    max_new_tokens: int = Field(1536, ge=16)
    request_timeout_s: float = Field(120.0, gt=0)
    """How long one model request may wait for the server's next bytes."""
    connect_retries: int = Field(1, ge=0)
    turn_deadline_s: float = Field(90.0, gt=0)
    """Total time of one turn, every model call and retry included (tools have their own
    ``tool_timeout_s``). Past it the model is not waited for: the turn ends with the
    evidence brief, naming ``model_timeout``. The default is the generation time of
    ``max_new_tokens`` (1,536) at 25 tokens/s, about 60 s, plus 30 s."""
    device: str = "auto"
    """transformers backend: auto | cpu | cuda | cuda:N."""
    min_pixels: int = 256 * 28 * 28
    max_pixels: int = Field(1280 * 28 * 28, ge=28 * 28)
    image_cache_mb: int = Field(512, ge=0)
    """Decoded images kept in memory per process (least recently used first out)."""
    image_url_cache_mb: int = Field(64, ge=0)
    """Encoded model images (data URLs) kept in memory per process."""

    # --- split mode: a planner model beside Lingshu (agent/split.py) --------------------
    planner_base_url: str | None = None
    """OpenAI-compatible endpoint of a planner model. Set: split mode (the planner drives
    the tools, Lingshu answers image questions through the ``look`` tool); unset: Lingshu
    alone, exactly as without these settings."""
    planner_model: str | None = None
    """The planner's served model name (required with ``planner_base_url``)."""
    planner_api_key: str = "EMPTY"
    planner_tool_calling: Literal["prompted", "native"] = "native"
    """The planner's tool calling: native (a server-side tool-call parser) by default."""

    # --- budgets per turn --------------------------------------------------------------
    max_tool_rounds: int = Field(6, ge=0)
    max_repairs: int = Field(2, ge=0)
    max_tool_output_chars: int = Field(4000, ge=200)
    tool_timeout_s: float = Field(30.0, gt=0)
    prompt_budget_tokens: int = Field(8192, ge=1024)
    max_images_per_turn: int = Field(8, ge=0)
    max_questions_per_turn: int = Field(1, ge=0)
    """Questions the model may put back to the clinician in one turn (0: never asks)."""

    # --- sessions ---------------------------------------------------------------------
    data_dir: Path = Field(default_factory=default_data_dir)
    checkpoint_url: str | None = None
    """A SQLite file path (default: DATA_DIR/sessions.sqlite) or a postgresql:// URL."""
    checkpoint_every: Literal["step", "turn"] = "step"
    """When a turn is committed to the session store: after every step (model reply, tool
    results, ...), so a process killed mid-turn keeps the finished steps; or once, when
    the turn ends or fails, so a killed process loses that turn only (the session stays
    as it was before it). ``turn`` costs a busy server far less; errors are committed
    either way."""
    mode: Literal["clinical", "education", "report", "sequential"] = "clinical"
    """The default mode of a new session; ``sequential``: the panel keeps a ranked differential."""

    # --- sequential diagnosis panel (agent/panel) ------------------------------------
    price_table: Path | None = None
    """A CSV of test prices (columns of knowledge/costs/prices.csv) overriding the shipped one."""
    panel_base_url: str | None = None
    """One endpoint for every panel role that calls a model; unset: the session's model."""
    panel_model: str | None = None
    panel_api_key: str | None = None
    panel_roles: dict[str, dict[str, str]] = Field(default_factory=dict)
    """Per-role endpoints, e.g. ``{"challenger": {"base_url": ..., "model": ...}}``."""
    panel_weak_leader: float = Field(0.5, ge=0.0, le=1.0)
    """Below this probability the leader is weak: the challenger's falsifying test wins."""
    panel_drop_floor: float = Field(0.02, ge=0.0, le=0.2)
    """Probability a hypothesis keeps when a turn's differential drops it."""
    panel_expensive_usd: float = Field(500.0, ge=0.0)
    """Stewardship: a test at or above this price must earn its place (``panel_min_bits``)."""
    panel_min_bits: float = Field(0.1, ge=0.0)
    """Stewardship: least expected information (bits) an expensive test must give."""
    panel_budget_usd: float | None = Field(None, ge=0.0)
    """Stewardship: a session's test budget; a test that would pass it is vetoed."""
    panel_unpriced_usd: float = Field(100.0, gt=0.0)
    """Cost assumed, for ranking only, of a test without a known price (never shown as one)."""
    panel_anchor_turns: int = Field(2, ge=1)
    """Checklist: turns the leader may stay unchanged while evidence against it grows."""
    panel_commit: float = Field(0.9, ge=0.5, le=1.0)
    """Chooser: at or above this probability the leader is committed to; no test proposed."""

    # --- guideline store (knowledge/guidelines) --------------------------------------
    guideline_dir: Path | None = None
    """Default: DATA_DIR/guidelines."""
    chroma_url: str | None = None
    """http://host:port of a Chroma server; embedded PersistentClient when unset."""
    embedding_model: str = "all-MiniLM-L6-v2"
    """sentence-transformers model (name or local path) that embeds guideline chunks."""
    guideline_collection: str = "lingshu-guidelines"
    """Chroma collection name (several stores can share one Chroma server)."""
    guideline_chunk_tokens: int = Field(200, ge=20)
    guideline_chunk_overlap: int = Field(30, ge=0)
    guideline_reranker: str | None = None
    """Optional sentence-transformers CrossEncoder (name or path) reranking fused results."""

    # --- EHR (knowledge/ehr) -----------------------------------------------------------
    ehr_db: Path | None = None
    """Default: DATA_DIR/ehr.sqlite."""
    fhir_base_url: str | None = None
    """A FHIR R4 server; the embedded SQLite store when unset."""
    fhir_token: str | None = None
    """Bearer token for the FHIR server (e.g. a SMART on FHIR backend-services access token)."""
    fhir_timeout_s: float = Field(10.0, gt=0)
    fhir_retries: int = Field(2, ge=0)
    """Retries after a connection failure, a timeout or an HTTP 429/5xx answer."""
    ehr_show_identifiers: bool = False
    """Show name, MRN and birth date to the model (off: age and sex only)."""

    # --- external MCP tools (tools/mcp_client.py) -------------------------------------
    mcp_servers: list[McpServer] = Field(default_factory=list)
    """External MCP servers and their allowed tools, e.g. LINGSHU_MCP_SERVERS='[{"name":
    "om", "command": ["lingshu", "mcp", "--transport", "stdio"], "tools": ["calculate"]}]'."""
    mcp_connect_timeout_s: float = Field(20.0, gt=0)
    """How long a server may take to start and list its tools (its calls: ``tool_timeout_s``)."""

    # --- HTTP service (agent/server) -------------------------------------------------
    server_api_keys_file: Path | None = None
    """JSON file of API keys: {"keys": [{"name", "sha256", "patients": [...] or "*"}]}."""
    server_api_keys: list[dict[str, Any]] = Field(default_factory=list)
    """API keys given inline (same entries as the keys file). No keys at all: open access."""
    server_max_body_bytes: int = Field(25 * 1024 * 1024, ge=1024)
    """Largest request body accepted (images included); larger gets HTTP 413."""
    server_max_image_pixels: int = Field(50_000_000, ge=1)
    """Largest uploaded image (width x height x frames) accepted; larger gets HTTP 413."""
    server_max_text_chars: int = Field(20_000, ge=1)
    """Longest question text accepted in one turn."""
    server_max_json_depth: int = Field(64, ge=4)
    """Deepest nesting of arrays/objects accepted in a JSON request body (deeper: HTTP 400)."""
    server_lock_wait_s: float = Field(10.0, ge=0)
    """How long a turn waits for another turn of the same session before HTTP 409."""
    server_threads: int = Field(64, ge=1)
    """Turns run at once per worker (each one a thread waiting on the model)."""
    server_pool_size: int = Field(40, ge=2)
    """Postgres connections per worker for session locks and ownership."""
    worker_early_death_s: float = Field(10.0, ge=0)
    """``serve --workers N``: a worker dying this soon after its start counts as early,
    like one that dies before it serves; three early deaths in a row stop the service."""

    @field_validator("constrained_tools", mode="before")
    @classmethod
    def _on_off(cls, value: object) -> object:
        """Also take booleans (``--constrained/--no-constrained``) and true/false/1/0."""
        words = {"true": "on", "1": "on", "yes": "on", "false": "off", "0": "off", "no": "off"}
        if isinstance(value, bool):
            return "on" if value else "off"
        if isinstance(value, str):
            return words.get(value.strip().lower(), value.strip().lower())
        return value

    @model_validator(mode="after")
    def _planner_named(self) -> Settings:
        if self.planner_base_url is not None and not self.planner_base_url.strip():
            self.planner_base_url = None  # an empty LINGSHU_PLANNER_BASE_URL: no planner
        if self.planner_base_url and not (self.planner_model or "").strip():
            raise ValueError(
                "LINGSHU_PLANNER_BASE_URL is set but LINGSHU_PLANNER_MODEL is not: name the "
                "planner's served model (see: lingshu vllm-command --planner MODEL)"
            )
        return self

    @property
    def split_mode(self) -> bool:
        """Whether a planner endpoint is configured (the planner plans, Lingshu looks)."""
        return bool(self.planner_base_url)

    @field_validator("data_dir", mode="after")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        chosen = _CONFIG_FILE.get()  # --config: must exist; LINGSHU_CONFIG: read if it does
        if chosen is not None and not chosen.expanduser().is_file():
            raise ConfigFileMissing(f"no configuration file at {chosen}")
        toml_path = chosen or Path(os.environ.get("LINGSHU_CONFIG", "lingshu.toml"))
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=toml_path),
        )

    @classmethod
    def load(cls, config: Path | None = None, **values: Any) -> Settings:
        """Settings from ``values`` (None: not given), the environment, the TOML file
        ``config`` (or ``LINGSHU_CONFIG``, or ./lingshu.toml) and the defaults, in that order.

        Every command of the command line builds its settings here
        (``agent.cli.options.build_settings``). Raises ValueError on a bad value or a
        named configuration file that does not exist.
        """
        given = {k: v for k, v in values.items() if v is not None}
        if config is not None:
            given["config"] = config
        token = _CONFIG_FILE.set(config)
        try:
            return cls(**given)
        finally:
            _CONFIG_FILE.reset(token)

    # --- derived paths ----------------------------------------------------------------
    @property
    def sessions_path(self) -> str:
        return self.checkpoint_url or str(self.data_dir / "sessions.sqlite")

    @property
    def guideline_path(self) -> Path:
        return self.guideline_dir or self.data_dir / "guidelines"

    @property
    def ehr_path(self) -> Path:
        return self.ehr_db or self.data_dir / "ehr.sqlite"

    @property
    def images_path(self) -> Path:
        return self.data_dir / "images"

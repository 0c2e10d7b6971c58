"""Which Prefect API `aiwf-engine run` uses: the one Prefect's own settings name, else its own.

Prefect reads `PREFECT_API_URL` (and every other setting) from the environment, a `.env`
file, the active profile in `$PREFECT_HOME/profiles.toml` (`prefect config set ...`,
`prefect profile use ...`) and pyproject.toml. The engine asks Prefect's settings loader
instead of the environment alone, so a URL set any of those ways is used and the embedded
server starts only when none is set. Importing prefect here is fine: only the engine runs it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from engine.stack.launcher import EMBEDDED_ENV

__all__ = ["EMBEDDED_ENV", "PrefectChoice", "configured_prefect", "prefect_environment"]

RUN_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    # The runner polls for scheduled runs; a short poll makes triggers start promptly.
    "PREFECT_RUNNER_POLL_FREQUENCY": "2",
    # Run logs reach the API (and so the console) in batches; keep the batches short.
    "PREFECT_LOGGING_TO_API_BATCH_INTERVAL": "0.5",
}
"""The engine's defaults for Prefect settings the operator has not set anywhere."""


@dataclass(frozen=True)
class PrefectChoice:
    """The configured Prefect API, or '' when none is and the engine runs its own server."""

    api_url: str
    source: str
    """Where the URL came from, for the log: 'environment', "profile 'x' (path)", ..."""
    profile_settings: dict[str, str]
    """The active profile's settings by name, so the engine's defaults do not override them."""

    @property
    def configured(self) -> bool:
        return bool(self.api_url)


def configured_prefect() -> PrefectChoice:
    """What Prefect's settings loader says, with the operator's environment as it is (call
    this before the engine changes any PREFECT_* variable)."""
    from prefect.context import SettingsContext
    from prefect.settings import get_current_settings

    settings = get_current_settings()
    context = SettingsContext.get()
    profile = context.profile if context is not None else None
    profile_settings = (
        {setting.name: str(value) for setting, value in profile.settings.items()}
        if profile is not None
        else {}
    )
    url = str(settings.api.url or "")
    if not url:
        return PrefectChoice("", "", profile_settings)
    if os.environ.get("PREFECT_API_URL"):
        source = "the environment (PREFECT_API_URL)"
    elif "PREFECT_API_URL" in profile_settings and profile is not None:
        source = f"Prefect profile {profile.name!r} ({profile.source or settings.profiles_path})"
    else:
        source = "Prefect settings (.env or pyproject.toml in " + str(Path.cwd()) + ")"
    return PrefectChoice(url, source, profile_settings)


def prefect_environment(choice: PrefectChoice, api_url: str) -> dict[str, str]:
    """PREFECT_* variables for the engine and its flow runs: the API URL, and the engine's
    defaults where neither the environment nor the active profile sets a value (a value
    the profile sets is copied, so both this process and its children see the same)."""
    env = {
        name: os.environ.get(name) or choice.profile_settings.get(name) or default
        for name, default in RUN_DEFAULTS.items()
    }
    env["PREFECT_API_URL"] = api_url
    # Never fall back to a throwaway in-process server: runs would vanish.
    env["PREFECT_SERVER_ALLOW_EPHEMERAL_MODE"] = "false"
    return env


def apply_environment(env: dict[str, str]) -> None:
    """Sets `env` in this process and makes Prefect read its settings again (it read them
    once, when first imported by `configured_prefect`)."""
    from prefect.context import refresh_global_settings_context

    os.environ.update(env)
    refresh_global_settings_context()

"""What a `:` command needs from the app (a Protocol, so the registry never imports it)."""

from __future__ import annotations

from typing import Any, Protocol

from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.theme import Theme

from console.context import Context
from console.data.state import Store


class CommandHost(Protocol):
    """The console app as the commands see it; `console.app.ConsoleApp` is one."""

    @property
    def ctx(self) -> Context: ...

    @property
    def store(self) -> Store: ...

    @property
    def screen(self) -> Screen[Any]: ...

    @property
    def screen_stack(self) -> list[Screen[Any]]: ...

    @property
    def available_themes(self) -> dict[str, Theme]: ...

    theme: str

    def push_screen(self, screen: Screen[Any]) -> object: ...

    def pop_screen(self) -> object: ...

    def notify(
        self,
        message: str,
        *,
        title: str = ...,
        severity: SeverityLevel = ...,
        timeout: float | None = ...,
    ) -> None: ...

    def exit(self) -> None: ...

    def action_audit(self) -> None:
        """Opens the audit trail (unless it is open)."""

    def action_pools(self) -> None:
        """Opens the work pools screen (unless it is open)."""

    def action_help(self) -> None:
        """Opens `?` for the screen on top."""

    def selected_deployment_name(self) -> str | None:
        """The deployment under the main screen's cursor, if any."""

    def lock_read_only(self) -> None:
        """Turns read-only on for the rest of the session; never off."""

"""The app's keys and command surfaces: `?` help, the `:` command line, the palette, and
the audit and who-wrote screens they open. `console.app.ConsoleApp` adds the data wiring."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import Any, ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen, Screen

from console.cmdline import registry as commands_registry
from console.context import Context
from console.data.state import Store
from console.screens.help import HelpEntry, HelpScreen, binding_entries
from console.screens.live_screens import LiveScreens
from console.screens.main import MainScreen


def _key(key: str, action: str, label: str, tip: str, *, show: bool = True) -> Binding:
    return Binding(key, action, label, tooltip=tip, show=show, id=f"app.{action}")


SCREEN_ACTIONS = (
    ("trigger", "Trigger", "Start a run of the selected deployment"),
    (
        "trigger_with_params",
        "Trigger with parameters...",
        "A form of the selected deployment's parameters, previewed before sending",
    ),
    ("pause_toggle", "Pause/Resume", "Pause or resume the selected deployment"),
    ("retry", "Retry run", "Retry the selected run"),
    ("cancel_run", "Cancel run", "Cancel the selected run (asks first)"),
)
"""Screen actions the palette offers (action name, title, help) where the screen has them."""


def screen_actions(screen: Screen[Any]) -> Iterable[SystemCommand]:
    """The screen's own actions, so the palette passes the same gate as the keys (read-only
    refusal, protected confirmation) instead of sending directly."""
    for name, title, help_text in SCREEN_ACTIONS:
        method = getattr(screen, f"action_{name}", None)
        if callable(method):
            yield SystemCommand(title, help_text, method)


def help_entries() -> list[HelpEntry]:
    """The `:` commands, for `?`: synopsis, what it does and its aliases."""
    entries = []
    for command in commands_registry.COMMANDS:
        aliases = ", ".join(f":{alias}" for alias in command.aliases)
        where = f"command (also {aliases})" if aliases else "command"
        # The argument goes with the description: a wide key column would push "Where"
        # out of the 80-column dialog.
        usage = f" {command.usage}" if command.usage else ""
        entries.append(HelpEntry(f":{command.name}", f"{command.help}{usage}", where))
    return entries


class CommandingApp(App[None]):
    """Keys, help, palette and `:` commands of the console; a `CommandHost` for the
    registry once the subclass has set the attributes below."""

    ctx: Context
    store: Store
    screens: LiveScreens
    read_only: bool

    BINDINGS: ClassVar[list[BindingType]] = [
        _key("q", "quit", "Quit", "Leave the console (the engine keeps running)"),
        _key("question_mark", "help", "Help", "Every key of this screen"),
        _key("a", "audit", "Audit", "Who did what: the engine's audit trail, live"),
        _key(
            "P",
            "pools",
            "Work pools",
            "Prefect's work pools, queues, workers and concurrency limits",
            show=False,
        ),
        # Hidden: the main footer is full (80 columns); `?` and the palette list them.
        _key(
            "w",
            "writers",
            "Who wrote",
            "Output partitions and every run that wrote each (from the main screen)",
            show=False,
        ),
        _key(
            "colon",
            "command_line",
            ":Command",
            "Type a command (:deploy, :runs, :logs, :audit, :theme, ...); tab completes",
            show=False,
        ),
    ]

    # The audit screen and the command palette.

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Not from inside a dialog: the screen would open on top of the question.
        if action in ("audit", "command_line", "pools"):
            return not isinstance(self.screen, ModalScreen)
        # `w` is a main-screen key: elsewhere it is hidden (the palette still offers it).
        if action == "writers":
            return isinstance(self.screen, MainScreen)
        return True

    def action_writers(self) -> None:
        from console.screens.partitions import PartitionsScreen

        if isinstance(self.screen, ModalScreen | PartitionsScreen):
            return
        self.push_screen(PartitionsScreen(self.ctx, self.selected_deployment_name()))

    def action_audit(self) -> None:
        from console.screens.audit import AuditScreen

        if not isinstance(self.screen, AuditScreen):
            self.push_screen(AuditScreen(self.ctx))

    def action_pools(self) -> None:
        from console.screens.pools import PoolsScreen

        if not isinstance(self.screen, PoolsScreen):
            self.push_screen(PoolsScreen(self.ctx))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        # Audit trail, Who wrote this?, deployments, runs, themes...: the `:` commands' own.
        yield from commands_registry.system_commands(self)
        yield from screen_actions(screen)

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        entries = binding_entries(self.screen, self.get_key_display)
        entries.extend(help_entries())
        title = type(self.screen).__name__.removesuffix("Screen").lower()
        self.push_screen(HelpScreen(f"{title} screen", entries))

    # The `:` command line (console/cmdline/registry.py has the commands).

    def action_command_line(self) -> None:
        from console.cmdline.screen import CommandLineScreen

        if isinstance(self.screen, ModalScreen):
            return
        complete = partial(commands_registry.completions, app=self)
        self.push_screen(CommandLineScreen(complete), self._command_entered)

    def _command_entered(self, line: str | None) -> None:
        if line and line.strip():
            commands_registry.execute(self, line)

    def selected_deployment_name(self) -> str | None:
        """The deployment under the main screen's cursor, if any."""
        if isinstance(self.screen, MainScreen):
            doc = self.screen.selected_deployment()
            if doc is not None:
                return doc.name
        return None

    def lock_read_only(self) -> None:
        """Turns read-only on for the rest of the session (`:readonly`); never off."""
        if self.read_only:
            self.notify("Read-only is already on.", title="Read-only")
            return
        self.read_only = True
        # Every screen holds this one Context; it is frozen so that nothing turns read-only
        # off, and this is the one place that may turn it on.
        object.__setattr__(self.ctx, "read_only", True)
        self.refresh_bindings()
        self.screens.show_status()
        self.notify(
            "Read-only is on until the console restarts: trigger, retry, cancel, pause and "
            "resume are hidden and refused.",
            title="Read-only",
        )

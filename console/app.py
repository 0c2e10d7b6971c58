"""The console app: one Redis worker in, typed messages, the store, the screens kept current."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, ClassVar

import redis
from redis.exceptions import RedisError
from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen, Screen
from textual.theme import Theme
from textual.worker import Worker, WorkerState, get_current_worker

from console.cmdline import registry as commands_registry
from console.context import Clock, Context, local_now
from console.data.cancelled import reraise_if_cancelled
from console.data.messages import (
    CommandAnswered,
    CommandFailed,
    CommandNotSent,
    CommandRequested,
    CommandSent,
    ConnectionChanged,
    DeploymentChanged,
    DeploymentRemoved,
    EngineStatusChanged,
    FlowRunChanged,
    LineageChanged,
    SnapshotLoaded,
    TaskRunChanged,
    TaskRunsLoaded,
    TaskRunsWanted,
)
from console.data.state import Store
from console.data.store import RedisReader, Update, describe_error
from console.screens.base import LiveScreen
from console.screens.help import HelpEntry, HelpScreen, is_product_binding
from console.screens.main import MainScreen
from engine.contract.command_client import CommandClient
from engine.contract.documents import Deployment, FlowRun, Lineage, TaskRun
from engine.contract.keys import Keys
from engine.contract.times import parse_iso
from engine.stack.launcher import engine_alive
from themes import DEFAULT_THEME, register_themes

BACKOFF_MAX = 5.0
SERVICES_CHECK_SECONDS = 2.0
"""How often a --demo console checks that its demo services are still there."""
"""Longest wait between reconnect attempts, seconds."""


class ConsoleApp(App[None]):
    """Keyboard console over the Redis mirror of Prefect.

    Args:
        redis_url: the Redis to read and send commands to.
        keys: key names under the prefix in use.
        now: the clock (aware datetimes); times are shown in its zone.
        theme_name: a name from `themes.THEMES`.
        heartbeat_interval: seconds between heartbeat reads (also the XREAD block time).
        command_timeout: seconds to wait for a command's result before saying so.
        tick_interval: seconds between refreshes of running durations and the clock.
        read_only: hide and refuse every action that changes something.
        user_themes: extra themes (from YAML files) to register besides the built-ins.
        keymap: binding id -> keys (console.yaml's `keymap:`, checked by console.settings.keymap).
        theme_errors: user theme files that failed validation, one message per file
            (`themes.user.report_by_file`); shown on screen when the console opens.
    """

    CSS_PATH = "app.tcss"
    TITLE = "aiwf-console"
    # Screen classes for small terminals: app.tcss gives dialogs one-line buttons there.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (60, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (16, "-tall")]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "q",
            "quit",
            "Quit",
            tooltip="Leave the console (the engine keeps running)",
            id="app.quit",
        ),
        Binding("question_mark", "help", "Help", tooltip="Every key of this screen", id="app.help"),
        Binding(
            "a",
            "audit",
            "Audit",
            tooltip="Who did what: the engine's audit trail, live",
            id="app.audit",
        ),
        Binding(
            "w",
            "writers",
            "Who wrote",
            tooltip="Output partitions and every run that wrote each (from the main screen)",
            show=False,  # the main footer is full; `?` and the palette list it
            id="app.writers",
        ),
        Binding(
            "colon",
            "command_line",
            ":Command",
            tooltip="Type a command (:deploy, :runs, :logs, :audit, :theme, ...); tab completes",
            show=False,  # footers are full at 80 columns; `?` lists it and every command
            id="app.command_line",
        ),
    ]

    def __init__(
        self,
        redis_url: str,
        keys: Keys | None = None,
        *,
        now: Clock = local_now,
        theme_name: str = DEFAULT_THEME,
        heartbeat_interval: float = 2.0,
        command_timeout: float = 20.0,
        tick_interval: float = 1.0,
        read_only: bool = False,
        user_themes: Sequence[Theme] = (),
        keymap: Mapping[str, str] | None = None,
        services_notice: Callable[[], str] | None = None,
        theme_errors: Sequence[str] = (),
    ) -> None:
        super().__init__()
        self.keys = keys or Keys()
        self.redis_url = redis_url
        self.read_only = read_only
        self.store = Store(redis_url=redis_url, prefix=self.keys.prefix)
        self.ctx = Context(
            store=self.store, now=now, redis_url=redis_url, keys=self.keys, read_only=read_only
        )
        self.heartbeat_interval = heartbeat_interval
        self.command_timeout = command_timeout
        self.tick_interval = tick_interval
        self._sync_client: redis.Redis | None = None
        self.services_notice = services_notice
        """With --demo: says why the demo services are gone ('' while they are up)."""
        register_themes(self)
        for theme in user_themes:
            self.register_theme(theme)
        self.theme = theme_name
        self.theme_errors = list(theme_errors)
        if keymap:
            self.set_keymap(dict(keymap))

    def get_default_screen(self) -> Screen[Any]:
        return MainScreen(self.ctx)

    def on_mount(self) -> None:
        self._follow_redis()
        self.set_interval(self.tick_interval, self._tick)
        if self.services_notice is not None:
            self._check_services()
            self.set_interval(SERVICES_CHECK_SECONDS, self._check_services)
        # On screen too: stderr before the screen opens is gone once it does.
        for message in self.theme_errors:
            self.notify(message, title="Theme skipped", severity="error", timeout=30, markup=False)

    def _check_services(self) -> None:
        note = self.services_notice() if self.services_notice is not None else ""
        if note != self.store.services_note:
            self.store.services_note = note
            for screen in self.live_screens():
                screen.show_status()

    def _tick(self) -> None:
        # The top screen only, and through live_screens: a tick landing while the app exits
        # would otherwise query the widgets of a screen being torn down (or an empty stack).
        live = self.live_screens()
        if live and live[-1] is self.screen_stack[-1]:
            live[-1].tick()

    def live_screens(self) -> list[LiveScreen]:
        """Screens to keep current: mounted ones not being torn down (data arriving while
        the app exits would otherwise query widgets that are already gone)."""
        return [
            screen
            for screen in self.screen_stack
            if isinstance(screen, LiveScreen)
            and screen.is_mounted
            and not (screen._closing or screen._pruning)
        ]

    # The one path in: snapshot, then tail the updates stream; heartbeat on the way.

    @work(exclusive=True, group="redis", exit_on_error=False)
    async def _follow_redis(self) -> None:
        reader = RedisReader(self.redis_url, self.keys, int(self.heartbeat_interval * 1000))
        last_id: str | None = None
        backoff = 0.5
        try:
            while True:
                try:
                    await reader.connect()
                    if last_id is None or await reader.has_gap_after(last_id):
                        # Note the stream position before reading the hashes (no gaps).
                        last_id = await reader.read_last_update_id()
                        deployments = await reader.read_deployments()
                        # Every run Redis keeps (up to what the store holds), so the
                        # runs title counts over all of them, not over the table's rows.
                        runs = await reader.read_flow_runs(self.store.runs_kept)
                        self.post_message(SnapshotLoaded(deployments, runs))
                    self.post_message(ConnectionChanged(True))
                    backoff = 0.5
                    next_beat = 0.0
                    while True:
                        if time.monotonic() >= next_beat:
                            info = await reader.read_heartbeat()
                            beat_at = parse_iso(info.beat_at) if info else None
                            self.post_message(EngineStatusChanged(info, beat_at))
                            next_beat = time.monotonic() + self.heartbeat_interval
                        for update in await reader.read_updates(last_id):
                            self._post_update(update)
                            last_id = update.entry_id
                except (RedisError, OSError) as exc:
                    reraise_if_cancelled()
                    self.post_message(ConnectionChanged(False, describe_error(exc)))
                    await reader.close()
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, BACKOFF_MAX)
        finally:
            await reader.close()

    def _post_update(self, update: Update) -> None:
        if update.kind == "deployment_removed":
            self.post_message(DeploymentRemoved(update.id))
        # A bad document reads as None (counted): the next update of it repairs it.
        elif isinstance(update.doc, Deployment):
            self.post_message(DeploymentChanged(update.doc))
        elif isinstance(update.doc, FlowRun):
            self.post_message(FlowRunChanged(update.doc))
        elif isinstance(update.doc, TaskRun):
            self.post_message(TaskRunChanged(update.doc))
        elif isinstance(update.doc, Lineage):
            self.post_message(LineageChanged(update.id, update.doc))

    @work(group="task-runs", exit_on_error=False)
    async def _read_task_runs(self, flow_run_id: str) -> None:
        reader = RedisReader(self.redis_url, self.keys)
        try:
            docs = await reader.read_task_runs(flow_run_id)
            lineage = await reader.read_lineage(flow_run_id)
        except (RedisError, OSError) as exc:
            self.notify(f"Could not read the task runs: {describe_error(exc)}", severity="error")
            return
        finally:
            await reader.close()
        self.post_message(TaskRunsLoaded(flow_run_id, docs))
        if lineage is not None:
            self.post_message(LineageChanged(flow_run_id, lineage))

    # Applying data: store first, then the screens that show it.

    def on_snapshot_loaded(self, message: SnapshotLoaded) -> None:
        names = {doc.name for doc in message.deployments}
        for name in [n for n in self.store.deployments if n not in names]:
            self.store.remove_deployment(name)
        for doc in message.deployments:
            self.store.apply_deployment(doc)
        for run in message.flow_runs:
            self.store.apply_flow_run(run)
        with self.batch_update():
            for screen in self.live_screens():
                screen.show_snapshot()

    def on_deployment_changed(self, message: DeploymentChanged) -> None:
        if self.store.apply_deployment(message.doc):
            for screen in self.live_screens():
                screen.show_deployment(message.doc.name)

    def on_deployment_removed(self, message: DeploymentRemoved) -> None:
        if self.store.remove_deployment(message.name):
            for screen in self.live_screens():
                screen.show_deployment(message.name)

    def on_flow_run_changed(self, message: FlowRunChanged) -> None:
        if self.store.apply_flow_run(message.doc):
            for screen in self.live_screens():
                screen.show_flow_run(message.doc)

    def on_task_run_changed(self, message: TaskRunChanged) -> None:
        if self.store.apply_task_run(message.doc):
            for screen in self.live_screens():
                screen.show_task_run(message.doc)

    def on_task_runs_loaded(self, message: TaskRunsLoaded) -> None:
        for doc in message.docs:
            self.store.apply_task_run(doc)
        with self.batch_update():
            for screen in self.live_screens():
                screen.show_task_runs(message.flow_run_id)

    def on_lineage_changed(self, message: LineageChanged) -> None:
        if self.store.apply_lineage(message.flow_run_id, message.doc):
            for screen in self.live_screens():
                screen.show_lineage(message.flow_run_id)

    def on_connection_changed(self, message: ConnectionChanged) -> None:
        changed = (self.store.connected, self.store.connection_reason) != (
            message.connected,
            message.reason,
        )
        self.store.connected = message.connected
        self.store.connection_reason = message.reason
        if changed:
            for screen in self.live_screens():
                screen.show_status()

    def on_engine_status_changed(self, message: EngineStatusChanged) -> None:
        self.store.engine = message.info
        self.store.beat_at = message.beat_at
        for screen in self.live_screens():
            screen.show_status()

    def on_task_runs_wanted(self, message: TaskRunsWanted) -> None:
        self._read_task_runs(message.flow_run_id)

    # Commands: sent and awaited in a thread, answered with a notification.

    def on_command_requested(self, message: CommandRequested) -> None:
        if self.read_only:  # the screens refuse first; this is the last line of defence
            self.post_message(CommandNotSent(f"{message.action} {message.target}", "read-only"))
            self.notify(
                f"Read-only mode: {message.action} {message.target} was not sent.",
                title="Read-only",
                severity="warning",
            )
            if message.action == "trigger":
                for screen in self.live_screens():
                    screen.trigger_answered(None)
            return
        self._send_command(message.action, message.target, message.params)

    def _client(self) -> redis.Redis:
        if self._sync_client is None:
            self._sync_client = redis.Redis.from_url(
                self.redis_url, socket_connect_timeout=3, socket_timeout=10
            )
        return self._sync_client

    @work(thread=True, group="commands", exit_on_error=False)
    def _send_command(self, action: str, target: str, params: dict[str, Any]) -> None:
        worker = get_current_worker()
        try:
            client = self._client()
            alive = engine_alive(client, self.keys)
            sender = CommandClient(client, self.keys)
            command = sender.send(action, target, params)
        except (RedisError, OSError) as exc:
            self.post_message(CommandFailed(action, target, describe_error(exc)))
            return
        self.post_message(CommandSent(command, alive))
        deadline = time.monotonic() + self.command_timeout
        result = None
        # Short waits, so quitting never hangs on a blocked BLMOVE.
        while result is None and not worker.is_cancelled:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                result = sender.wait(command.id, min(1.0, remaining))
            except (RedisError, OSError):
                time.sleep(0.5)  # Redis is away; the status line says so already
        if not worker.is_cancelled:
            self.post_message(CommandAnswered(command, result))
        # A cancel answers `cancelling` first; its final result follows when Prefect reports
        # the run's end (the engine watches it for up to 15 minutes).
        deadline = time.monotonic() + 900
        while result is not None and not result.final and not worker.is_cancelled:
            if time.monotonic() > deadline:
                return
            time.sleep(0.5)
            try:
                latest = sender.latest(command.id)
            except (RedisError, OSError):
                continue
            if latest is not None and latest.final:
                result = latest
                self.post_message(CommandAnswered(command, result))

    def describe(self, action: str, target: str) -> str:
        """`retry run witty-fox`: names the run instead of its id where it is known."""
        run = self.store.flow_runs.get(target)
        if run is not None:
            return f"{action} run {run.name or target}"
        return f"{action} {target}"

    def on_command_sent(self, message: CommandSent) -> None:
        what = self.describe(message.command.action, message.command.target)
        if message.engine_alive:
            self.notify(f"Sent: {what}", title="Command")
        else:
            self.notify(
                f"The engine is down: {what} is queued and will run when the engine is back.",
                title="Command queued",
                severity="warning",
            )

    def on_command_answered(self, message: CommandAnswered) -> None:
        command, result = message.command, message.result
        if command.action == "trigger":
            new_run = result.flow_run_id if result is not None and result.ok else ""
            for screen in self.live_screens():
                screen.trigger_answered(new_run or None)
        what = self.describe(command.action, command.target)
        if result is None:
            self.notify(
                f"No answer yet from the engine for {what}; the command stays queued.",
                title="Command",
                severity="warning",
            )
        elif not result.final:
            self.notify(result.message, title=f"Cancelling: {what}")
        elif result.ok:
            self.notify(result.message or f"{what}: done", title=f"Done: {what}")
        else:
            self.notify(
                result.message or "the engine gave no reason",
                title=f"Failed: {what}",
                severity="error",
                timeout=15,
            )

    def on_command_failed(self, message: CommandFailed) -> None:
        if message.action == "trigger":
            for screen in self.live_screens():
                screen.trigger_answered(None)
        self.notify(
            f"Could not send {message.action} {message.target}: {message.reason}",
            title="Command not sent",
            severity="error",
            timeout=15,
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.notify(
                f"{event.worker.name} stopped: {event.worker.error!r}",
                title="Internal error",
                severity="error",
                timeout=30,
            )

    # The audit screen and the command palette.

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Not from inside a dialog: the audit screen would open on top of the question.
        if action == "audit":
            return not isinstance(self.screen, ModalScreen)
        # `w` is a main-screen key: elsewhere it is hidden (the palette still offers it).
        if action == "writers":
            return isinstance(self.screen, MainScreen)
        if action == "command_line":
            return not isinstance(self.screen, ModalScreen)
        return True

    def action_writers(self) -> None:
        from console.screens.partitions import PartitionsScreen

        if isinstance(self.screen, ModalScreen | PartitionsScreen):
            return
        self.push_screen(PartitionsScreen(self.ctx, self._selected_deployment()))

    def _selected_deployment(self) -> str | None:
        """The deployment under the main screen's cursor, if any."""
        if isinstance(self.screen, MainScreen):
            doc = self.screen.selected_deployment()
            if doc is not None:
                return doc.name
        return None

    def action_audit(self) -> None:
        from console.screens.audit import AuditScreen

        if not isinstance(self.screen, AuditScreen):
            self.push_screen(AuditScreen(self.ctx))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        # Audit trail, Who wrote this?, deployments, runs, themes...: the `:` commands' own.
        yield from commands_registry.system_commands(self)
        # The screen's own actions, so the palette passes the same gate as the keys
        # (read-only refusal, protected confirmation) instead of sending directly.
        actions = (
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
        for name, title, help_text in actions:
            method = getattr(screen, f"action_{name}", None)
            if callable(method):
                yield SystemCommand(title, help_text, method)

    # Help.

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        entries: list[HelpEntry] = []
        seen: set[str] = set()
        for key, active in self.screen.active_bindings.items():
            binding = active.binding
            if not binding.description or key in seen:
                continue
            if not is_product_binding(active.node, binding):
                continue
            seen.add(key)
            entries.append(
                HelpEntry(self.get_key_display(binding), binding.description, _where(active.node))
            )
        # This screen's own keys first, then everywhere, then the focused widget's.
        order = {"this screen": 0, "everywhere": 1}
        entries.sort(key=lambda entry: order.get(entry.where, 2))
        entries.extend(command_help_entries())
        title = type(self.screen).__name__.removesuffix("Screen").lower()
        self.push_screen(HelpScreen(f"{title} screen", entries))

    # The `:` command line (console/cmdline/registry.py has the commands).

    def action_command_line(self) -> None:
        from console.cmdline.screen import CommandLineScreen

        if isinstance(self.screen, ModalScreen):
            return
        self.push_screen(CommandLineScreen(), self._command_entered)

    def _command_entered(self, line: str | None) -> None:
        if line and line.strip():
            commands_registry.execute(self, line)

    def selected_deployment_name(self) -> str | None:
        """The deployment under the main screen's cursor, if any."""
        return self._selected_deployment()

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
        for screen in self.live_screens():
            screen.show_status()
        self.notify(
            "Read-only is on until the console restarts: trigger, retry, cancel, pause and "
            "resume are hidden and refused.",
            title="Read-only",
        )

    def on_unmount(self) -> None:
        if self._sync_client is not None:
            self._sync_client.close()


def command_help_entries() -> list[HelpEntry]:
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


def _where(node: object) -> str:
    if isinstance(node, App):
        return "everywhere"
    if isinstance(node, Screen):
        return "this screen"
    return type(node).__name__

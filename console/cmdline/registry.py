"""The `:` commands: one registry drives the command line, its tab completion, the command
palette and the `?` list, so the three cannot drift apart.

Each command is a name, its aliases, what it takes and a `run(app, arg)`; `app` is a
`CommandHost` (console.cmdline.host), never the app class itself. A command that cannot do
what was asked raises `CommandError` with a sentence for the operator.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from textual.app import SystemCommand

from console.cmdline.host import CommandHost
from console.screens.main import MainScreen
from console.widgets.runs_table import STATE_FILTERS

RUN_CANDIDATES = 50
"""Run names offered by tab completion (newest first)."""


class CommandError(Exception):
    """A command line that cannot be run; the message says why and what to type instead."""


@dataclass(frozen=True)
class ConsoleCommand:
    """One `:` command.

    Attributes:
        name: what `:help` and completion show first.
        aliases: other words for it (`dp` for `deploy`).
        usage: its argument as shown in help, e.g. `[NAME]`; empty if it takes none.
        help: one line: what it does.
        run: does it; `arg` is the stripped rest of the line (may be empty).
        candidates: the values its argument completes to.
        arg_required: refuse an empty argument (`:theme` needs a name).
        palette: the palette title of the argument-less form; None keeps it out.
        palette_each: also one palette entry per candidate (`Deployment: NAME`).
    """

    name: str
    aliases: tuple[str, ...]
    usage: str
    help: str
    run: Callable[[CommandHost, str], None]
    candidates: Callable[[CommandHost], list[str]] | None = None
    arg_required: bool = False
    palette: str | None = None
    palette_each: str | None = None

    @property
    def words(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)

    @property
    def synopsis(self) -> str:
        """`:deploy [NAME]`, as listed by `?`."""
        return f":{self.name} {self.usage}".rstrip()


# Argument values.


def deployment_names(app: CommandHost) -> list[str]:
    return sorted(app.store.deployments)


def state_words(_app: CommandHost) -> list[str]:
    return [label.lower() for label, _states in STATE_FILTERS]


def run_words(app: CommandHost) -> list[str]:
    return [d.name for d in app.store.runs_newest_first()[:RUN_CANDIDATES]]


def theme_names(app: CommandHost) -> list[str]:
    # Ours (and the user's) first; Textual's own themes follow.
    names = sorted(app.available_themes)
    return sorted(names, key=lambda n: (n.startswith("textual-"), n))


def pick(value: str, choices: Sequence[str], what: str) -> str:
    """The choice `value` names: exact, else case-insensitive, else a unique prefix.

    Raises:
        CommandError: naming the nearest choices.
    """
    if value in choices:
        return value
    folded = [c for c in choices if c.lower() == value.lower()]
    if len(folded) == 1:
        return folded[0]
    prefixed = [c for c in choices if c.lower().startswith(value.lower())]
    if len(prefixed) == 1:
        return prefixed[0]
    near = prefixed or difflib.get_close_matches(value, choices, n=4, cutoff=0.5)
    hint = f"; nearest: {', '.join(near[:4])}" if near else ""
    raise CommandError(f"No {what} {value!r}{hint}. Tab completes {what} names.")


# What the commands do.


def _to_main(app: CommandHost) -> MainScreen:
    """Back to the main screen (the bottom of the stack), which it returns."""
    while len(app.screen_stack) > 1 and not isinstance(app.screen, MainScreen):
        app.pop_screen()
    main = app.screen
    if not isinstance(main, MainScreen):
        raise CommandError("The main screen is not open; nothing was changed.")
    return main


def run_deploy(app: CommandHost, arg: str) -> None:
    from console.screens.deployment import DeploymentScreen

    name = pick(arg, deployment_names(app), "deployment") if arg else None
    main = _to_main(app)
    if name is None:
        main.focus_deployments()
    else:
        app.push_screen(DeploymentScreen(app.ctx, name))


def run_runs(app: CommandHost, arg: str) -> None:
    states = state_words(app)
    state: str | None = None
    deployment: str | None = None
    if arg.lower() in states:
        state = arg.lower()
    elif arg:
        try:
            deployment = pick(arg, deployment_names(app), "deployment")
        except CommandError:
            raise CommandError(
                f"{arg!r} is neither a state ({', '.join(states)}) nor a deployment "
                f"({', '.join(deployment_names(app)) or 'none yet'})."
            ) from None
    main = _to_main(app)
    if not arg:
        main.show_runs(state="all", all_deployments=True)
    elif state is not None:
        main.show_runs(state=state)
    else:
        main.show_runs(deployment=deployment)


def _run_id(app: CommandHost, arg: str) -> str:
    """The run `arg` names (name or id), else the run on screen or under the cursor."""
    if arg:
        runs = app.store.flow_runs
        if arg in runs:
            return arg
        by_name = {d.name: run_id for run_id, d in runs.items()}
        return by_name[pick(arg, list(by_name), "run")]
    run_id = getattr(app.screen, "flow_run_id", None)
    if isinstance(run_id, str):
        return run_id
    selected = getattr(app.screen, "selected_run", None)
    doc = selected() if callable(selected) else None
    if doc is not None:
        return str(doc.id)
    raise CommandError("No run here: name one (tab completes run names) or select a run first.")


def run_logs(app: CommandHost, arg: str) -> None:
    from console.logs.screen import LogScreen

    app.push_screen(LogScreen(app.ctx, _run_id(app, arg), None))


def run_timeline(app: CommandHost, arg: str) -> None:
    from console.screens.timeline import TimelineScreen

    app.push_screen(TimelineScreen(app.ctx, _run_id(app, arg)))


def run_audit(app: CommandHost, _arg: str) -> None:
    app.action_audit()


def run_pools(app: CommandHost, _arg: str) -> None:
    app.action_pools()


def run_who(app: CommandHost, arg: str) -> None:
    from console.screens.partitions import PartitionsScreen

    if arg:
        name: str | None = pick(arg, deployment_names(app), "deployment")
    else:
        name = app.selected_deployment_name()
    app.push_screen(PartitionsScreen(app.ctx, name))


def run_theme(app: CommandHost, arg: str) -> None:
    name = pick(arg, theme_names(app), "theme")
    app.theme = name
    app.notify(f"Theme: {name} (for this session; --theme {name} keeps it)", title="Theme")


def run_help(app: CommandHost, _arg: str) -> None:
    app.action_help()


def run_quit(app: CommandHost, _arg: str) -> None:
    app.exit()


def run_read_only(app: CommandHost, arg: str) -> None:
    if arg and arg.lower() not in ("on", "true", "yes"):
        raise CommandError(
            f":readonly {arg} refused: the command line only turns read-only on. "
            "Restart the console without --read-only (and read_only: false) to leave it."
        )
    app.lock_read_only()


COMMANDS: tuple[ConsoleCommand, ...] = (
    ConsoleCommand(
        "deploy",
        ("dp", "deployments"),
        "[NAME]",
        "The deployments, or one deployment's screen",
        run_deploy,
        deployment_names,
        palette="Deployments",
        palette_each="Deployment",
    ),
    ConsoleCommand(
        "runs",
        ("r",),
        "[STATE|DEPLOYMENT]",
        "The runs: all, one state's or one deployment's",
        run_runs,
        lambda app: [*state_words(app), *deployment_names(app)],
        palette_each="Runs",  # "Runs: all" is the argument-less form
    ),
    ConsoleCommand(
        "logs",
        ("log", "l"),
        "[RUN]",
        "A run's whole log (the run on screen or selected)",
        run_logs,
        run_words,
        palette="Run log",
    ),
    ConsoleCommand(
        "timeline",
        ("tl", "gantt"),
        "[RUN]",
        "A run's task runs on a time axis (the run on screen or selected)",
        run_timeline,
        run_words,
        palette="Run timeline",
    ),
    ConsoleCommand(
        "audit", ("au",), "", "Who did what: the audit trail", run_audit, palette="Audit trail"
    ),
    ConsoleCommand(
        "pools",
        ("wp", "workers"),
        "",
        "Work pools and queues, their workers, and the concurrency limits",
        run_pools,
        palette="Work pools",
    ),
    ConsoleCommand(
        "who",
        ("writers",),
        "[DEPLOYMENT]",
        "Output partitions and the runs that wrote them",
        run_who,
        deployment_names,
        palette="Who wrote this?",
    ),
    ConsoleCommand(
        "theme",
        ("th",),
        "NAME",
        "Switch the colour theme for this session",
        run_theme,
        theme_names,
        arg_required=True,
        palette_each="Theme",
    ),
    ConsoleCommand(
        "readonly",
        ("ro",),
        "",
        "Turn read-only on for this session (it cannot be turned off here)",
        run_read_only,
        palette="Read-only on",
    ),
    ConsoleCommand("help", ("h",), "", "Every key and command of this screen", run_help),
    ConsoleCommand("quit", ("q", "exit"), "", "Leave the console", run_quit),
)
"""Every `:` command, in the order `?` lists them."""


def find(word: str) -> ConsoleCommand | None:
    folded = word.lower()
    for command in COMMANDS:
        if folded in command.words:
            return command
    return None


def all_words() -> list[str]:
    return [word for command in COMMANDS for word in command.words]


def parse(line: str) -> tuple[ConsoleCommand, str]:
    """`deploy prod` -> (the deploy command, "prod"); a leading `:` is allowed.

    Raises:
        CommandError: unknown command (with the nearest ones) or a missing argument.
    """
    text = line.strip().removeprefix(":").strip()
    if not text:
        raise CommandError("Type a command; :help lists them.")
    word, _, arg = text.partition(" ")
    command = find(word)
    if command is None:
        near = difflib.get_close_matches(word.lower(), all_words(), n=3, cutoff=0.5)
        near += [w for w in all_words() if w.startswith(word.lower()) and w not in near]
        hint = f"; did you mean {', '.join(':' + w for w in near[:3])}?" if near else ""
        raise CommandError(f"Unknown command :{word}{hint} (:help lists them)")
    arg = arg.strip()
    if command.arg_required and not arg:
        raise CommandError(f"{command.synopsis}: give a {command.usage.lower()} (tab completes).")
    return command, arg


def completions(text: str, app: CommandHost) -> list[str]:
    """Whole lines that `text` (without the colon) can complete to, best first.

    A command word completes to the names of the commands it begins (or begins an alias
    of: `dp` completes to `deploy`); after a space, the command's argument completes to
    its candidates (prefix matches, then substrings).
    """
    word, space, arg = text.lstrip().partition(" ")
    if not space:
        # One entry per command (its name), whichever of its words matched.
        folded = word.lower()
        return [c.name for c in COMMANDS if any(w.startswith(folded) for w in c.words)]
    command = find(word)
    if command is None or command.candidates is None:
        return []
    arg = arg.lstrip()
    values = command.candidates(app)
    folded = arg.lower()
    starts = [v for v in values if v.lower().startswith(folded)]
    inside = [v for v in values if folded in v.lower() and v not in starts]
    return [f"{word} {v}" for v in (*starts, *inside)]


def execute(app: CommandHost, line: str) -> bool:
    """Runs `line`; a refusal becomes an error notification. True if it ran."""
    try:
        command, arg = parse(line)
        command.run(app, arg)
    except CommandError as exc:
        app.notify(str(exc), title="Command", severity="error", timeout=10)
        return False
    return True


def system_commands(app: CommandHost) -> Iterable[SystemCommand]:
    """The palette's entries for the registry: the same `run` as the `:` line."""

    def runner(command: ConsoleCommand, arg: str) -> Callable[[], None]:
        def run() -> None:
            try:
                command.run(app, arg)
            except CommandError as exc:
                app.notify(str(exc), title="Command", severity="error", timeout=10)

        return run

    for command in COMMANDS:
        if command.palette is not None:
            yield SystemCommand(
                command.palette, f"{command.help} ({command.synopsis})", runner(command, "")
            )
        if command.palette_each is not None and command.candidates is not None:
            for value in command.candidates(app):
                yield SystemCommand(
                    f"{command.palette_each}: {value}",
                    f":{command.name} {value}",
                    runner(command, value),
                )

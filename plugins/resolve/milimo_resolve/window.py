"""The Milimo window, built with Fusion's UIManager (the toolkit Resolve gives scripts), drawn from Controller.

A UIManager timer calls `Controller.tick` four times a second and redraws what changed; buttons call the
controller's actions. Rows are updated in place (not cleared and re-added), so the user's selection survives
the redraws. Nothing here touches the network. tests/fusion_ui_double.py runs it, following UIManager's
documentation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from milimo import config as milimo_config
from milimo.errors import MilimoError

from . import message
from .controller import Controller, View

WINDOW_ID = "MilimoWindow"
TIMER_ID = "MilimoTick"
TICK_MS = 250
ANIMATIC = "Animatic (no model)"
SHOT_COLUMNS = ("Shot", "Where", "Frames", "Prompt", "Status")
JOB_COLUMNS = ("Row", "Shot", "Job", "Status", "Progress")
BUTTONS = ("Refresh", "Generate", "Cancel", "Import", "RoundTrip")


def layout(ui: Any) -> Any:
    def row(*children: Any) -> Any:
        return ui.HGroup({"Weight": 0}, list(children))

    return ui.VGroup(
        [
            ui.Label({"ID": "Connection", "WordWrap": True, "Weight": 0}),
            ui.Label({"ID": "Timeline", "Weight": 0}),
            ui.Tree({"ID": "Shots", "SelectionMode": "ExtendedSelection", "Weight": 2}),
            row(
                ui.Label({"Text": "Model", "Weight": 0}),
                ui.ComboBox({"ID": "Model", "Weight": 1}),
                ui.Label({"Text": "Size", "Weight": 0}),
                ui.SpinBox({"ID": "Width", "Minimum": 64, "Maximum": 4096, "SingleStep": 32, "Weight": 0}),
                ui.SpinBox({"ID": "Height", "Minimum": 64, "Maximum": 4096, "SingleStep": 32, "Weight": 0}),
                ui.Button({"ID": "Refresh", "Text": "Refresh"}),
                ui.Button({"ID": "Generate", "Text": "Generate"}),
            ),
            ui.Tree({"ID": "Jobs", "SelectionMode": "ExtendedSelection", "Weight": 1}),
            row(
                ui.Button({"ID": "Cancel", "Text": "Cancel"}),
                ui.Button({"ID": "Import", "Text": "Import"}),
                ui.Button({"ID": "RoundTrip", "Text": "Round trip (OTIO)"}),
            ),
            ui.Label({"ID": "Notice", "WordWrap": True, "Weight": 0}),
            ui.Label({"ID": "RoundTripLine", "WordWrap": True, "Weight": 0}),
        ]
    )


class TreeRows:
    """A UIManager Tree whose rows are keyed by their first column and updated in place."""

    def __init__(self, tree: Any, columns: tuple[str, ...]) -> None:
        self.tree = tree
        self.rows: dict[str, Any] = {}
        header = tree.NewItem()
        for index, title in enumerate(columns):
            header.Text[index] = title
        tree.SetHeaderItem(header)
        tree.ColumnCount = len(columns)

    def show(self, lines: list[tuple[str, ...]]) -> None:
        keys = [line[0] for line in lines]
        if keys != list(self.rows):  # rows came or went: rebuild
            self.tree.Clear()
            self.rows = {}
            for key in keys:
                item = self.tree.NewItem()
                self.tree.AddTopLevelItem(item)
                self.rows[key] = item
        for line in lines:
            item = self.rows[line[0]]
            for index, text in enumerate(line):
                if item.Text[index] != text:
                    item.Text[index] = text

    def selected(self) -> list[str]:
        # Documented as a list; Lua tables reach Python as dicts keyed 1, 2… in much of Fusion's API: take either.
        items = self.tree.SelectedItems() or []
        return [item.Text[0] for item in (items.values() if isinstance(items, dict) else items)]


class MilimoWindow:
    def __init__(self, ui: Any, dispatcher: Any, controller: Controller) -> None:
        self.controller = controller
        self.dispatcher = dispatcher
        self.window = dispatcher.AddWindow(
            {"ID": WINDOW_ID, "WindowTitle": "Milimo", "Geometry": [120, 120, 960, 680]}, layout(ui)
        )
        self.items = self.window.GetItems()
        self.shots = TreeRows(self.items["Shots"], SHOT_COLUMNS)
        self.jobs = TreeRows(self.items["Jobs"], JOB_COLUMNS)
        self.models: tuple[str, ...] | None = None
        self.timer = ui.Timer({"ID": TIMER_ID, "Interval": TICK_MS})
        actions = {
            "Refresh": lambda: controller.refresh(),
            "Generate": self._generate,
            "Cancel": lambda: controller.cancel(self.jobs.selected()),
            "Import": lambda: controller.import_results(self.jobs.selected()),
            "RoundTrip": self._round_trip,
        }
        for button, action in actions.items():
            self.window.On[button].Clicked = self._handler(action)
        self.window.On[WINDOW_ID].Close = lambda event: dispatcher.ExitLoop()
        # Scripts in the wild receive a UIManager timer's ticks either way; tick() is cheap and idempotent.
        dispatcher.On.Timeout = self._handler(controller.tick)
        dispatcher.On[TIMER_ID].Timeout = self._handler(controller.tick)

    def _handler(self, action: Any) -> Any:
        def handle(event: Any) -> None:
            action()
            self.draw(self.controller.view())

        return handle

    def _generate(self) -> None:
        self._apply_settings()
        self.controller.generate(self.shots.selected())

    def _round_trip(self) -> None:
        self._apply_settings()
        self.controller.round_trip()

    def _apply_settings(self) -> None:
        model = self.items["Model"].CurrentText
        self.controller.choose(
            "" if model in ("", ANIMATIC) else model, int(self.items["Width"].Value), int(self.items["Height"].Value)
        )

    def draw(self, view: View) -> None:
        self.items["Connection"].Text = view.connection.text
        self.items["Timeline"].Text = f"Timeline: {view.timeline}" if view.timeline else "No timeline"
        self.shots.show([(s.key, s.where, str(s.frames), s.prompt, s.status) for s in view.shots])
        self.jobs.show([(j.row_id, j.shot, j.job_id, j.status, j.progress) for j in view.jobs])
        self.items["Notice"].Text = view.notice
        self.items["RoundTripLine"].Text = view.round_trip
        if view.connection.models != self.models:  # the daemon's video models arrived or changed
            combo = self.items["Model"]
            chosen = combo.CurrentText
            choices = [ANIMATIC, *view.connection.models]
            combo.Clear()
            combo.AddItems(choices)
            combo.CurrentIndex = choices.index(chosen) if chosen in choices else 0
            self.models = view.connection.models

    def run(self) -> None:
        self.controller.start()
        settings = self.controller.view().settings
        self.items["Width"].Value = settings.width
        self.items["Height"].Value = settings.height
        self.draw(self.controller.view())
        self.window.Show()
        self.timer.Start()
        try:
            self.dispatcher.RunLoop()
        finally:
            self.timer.Stop()
            self.window.Hide()
            self.controller.close()


def run(resolve: Any, ui: Any, dispatcher: Any, support_dir: str) -> None:
    """Open the window for the current project; Milimo's client config comes from its usual file."""
    try:
        config = milimo_config.client_config(milimo_config.load_file())
    except MilimoError as error:
        message.show(ui, dispatcher, "Milimo cannot start", f"Milimo's config file: {error}")
        return
    MilimoWindow(ui, dispatcher, Controller(resolve, config, Path(support_dir))).run()

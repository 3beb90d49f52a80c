"""A test double of Fusion's UIManager and UIDispatcher: the toolkit Resolve gives scripts for their windows.

UIManager exists only inside Resolve (and Fusion). This double follows its documentation: the UIManager section
of Resolve's Workflow Integrations README as the ResolveDevDoc pages reproduce and extend it
(resolvedevdoc.readthedocs.io; b3n0y/ResolveDevDoc docs/source/UI_intro.rst, UI_dispatcher_func.rst,
UI_elements_layout.rst, UI_elements_attrb.rst, UI_elements_func.rst, UI_elements_events.rst):

- `ui = fusion.UIManager`, `dispatcher = bmd.UIDispatcher(ui)`; `dispatcher.AddWindow(props, children)` makes a
  window; elements are made by `ui.<Kind>(props)` with a dict of properties, ID among them, and groups by
  `ui.VGroup([children])` or `ui.HGroup(props, [children])` (UI_elements_layout); `HGap`/`VGap` take a size and
  a weight.
- `win.Find(ID)` returns the element with that ID, `win.GetItems()` a dict of all child elements by ID
  (UI_elements_func).
- Handlers are set as `win.On.<ID>.<Event> = fn` or `win.On[ID].<Event> = fn`, and are called with a dict of
  attributes such as who, what, when, sender and modifiers; each kind sends its own events: Button Clicked…,
  Window Close… (UI_elements_events).
- `dispatcher.RunLoop()` processes events until a handler calls `dispatcher.ExitLoop()`, whose code RunLoop
  returns (UI_dispatcher_func).
- `ui.Timer({"ID", "Interval"})`, `Start()`, `Stop()`; its ticks reach `dispatcher["On"]["Timeout"]`
  (UI_elements_func, Timer). Scripts in the wild also set `dispatcher.On[timerID].Timeout`; whether Resolve calls
  that one is not documented, so the double stores it and never calls it.
- A Tree makes rows with `NewItem()`, whose `Text[n]` is the text of column n (a "property array", zero-based),
  adds them with `AddTopLevelItem`, empties with `Clear()`, and `SelectedItems()` returns the selected rows
  (a list); a row's `Selected` says whether it is selected (UI_elements_attrb, UI_elements_func).
- A ComboBox's `AddItems(list)`, `Clear()`, `CurrentIndex` (0, the first item, once it has items) and
  `CurrentText`; a SpinBox's `Value` between `Minimum` and `Maximum` (99 unless set) (UI_elements_attrb).

The double is stricter than the documents where they are silent: an element refuses properties its kind does not
document (a misspelt property fails the test instead of doing nothing). The person at the window is `User`: the
test hands `UIDispatcher` one script per `RunLoop`, and the script clicks, types, selects and lets time pass as
timer ticks while the loop runs. Ticks come as fast as the script asks for them: what the window does between
ticks depends on them, not on the wall clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Any

Handler = Callable[[dict[str, Any]], None]
Script = Callable[["User"], None]

# Attributes most elements take (UI_elements_attrb, "Elements"), Weight (UI_elements_layout) and Events
# (UI_elements_events).
COMMON = {
    "ID": "",
    "Weight": None,
    "Events": None,
    "Enabled": True,
    "Hidden": False,
    "Visible": True,
    "Font": None,
    "WindowTitle": "",
    "BackgroundColor": None,
    "Geometry": None,
    "ToolTip": "",
    "StatusTip": "",
    "StyleSheet": "",
    "WindowOpacity": 1.0,
    "MinimumSize": None,
    "MaximumSize": None,
    "FixedSize": None,
}
WINDOW_EVENTS = ("Close", "Show", "Hide", "Resize", "MousePress", "MouseRelease", "KeyPress", "KeyRelease")


def documented(**defaults: Any) -> Mapping[str, Any]:
    """An element kind's documented properties (UI_elements_attrb) and the values they start with."""
    return MappingProxyType(defaults)


class PropertyArray:
    """A property indexed by column, zero-based, like a Tree row's `Text[2]` (UI_elements_attrb)."""

    def __init__(self) -> None:
        self.values: dict[int, Any] = {}

    def __getitem__(self, index: int) -> Any:
        return self.values.get(index, "")

    def __setitem__(self, index: int, value: Any) -> None:
        self.values[index] = value


class Element:
    """An element with the properties its kind documents; children for groups."""

    PROPERTIES: Mapping[str, Any] = documented()
    ARRAYS: tuple[str, ...] = ()
    EVENTS: tuple[str, ...] = ()

    def __init__(self, props: dict[str, Any] | None = None, children: Iterable[Element] = ()) -> None:
        object.__setattr__(self, "_props", {**COMMON, **self.PROPERTIES})
        object.__setattr__(self, "_arrays", {name: PropertyArray() for name in self.ARRAYS})
        object.__setattr__(self, "children", list(children))
        for name, value in (props or {}).items():
            setattr(self, name, value)

    @property
    def kind(self) -> str:
        return type(self).__name__

    def __getattr__(self, name: str) -> Any:  # only for names that are not methods or Python properties
        props, arrays = object.__getattribute__(self, "_props"), object.__getattribute__(self, "_arrays")
        if name in arrays:
            return arrays[name]
        if name in props:
            return props[name]
        raise AttributeError(f"a {type(self).__name__} has no property {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(getattr(type(self), name, None), property):
            object.__setattr__(self, name, value)  # a property of the double's own (SpinBox.Value…)
        elif name in self._props:
            self._props[name] = value
        else:
            raise AttributeError(f"a {self.kind} has no property {name!r}")

    def walk(self) -> Iterator[Element]:
        for child in self.children:
            yield child
            yield from child.walk()

    def Find(self, ID: str) -> Element | None:
        return next((element for element in self.walk() if element.ID == ID), None)

    def GetItems(self) -> dict[str, Element]:
        return {element.ID: element for element in self.walk() if element.ID}

    def GetChildren(self) -> list[Element]:
        return list(self.children)


class VGroup(Element):
    pass


class HGroup(Element):
    pass


class Gap(Element):
    pass


class Label(Element):
    PROPERTIES = documented(Text="", Alignment=None, FrameStyle=0, WordWrap=False, Indent=None, Margin=None)


class Button(Element):
    PROPERTIES = documented(Text="", Down=False, Checkable=False, Checked=False, Icon=None, IconSize=None, Flat=False)
    EVENTS = ("Clicked", "Toggled", "Pressed", "Released")


class TextEdit(Element):
    PROPERTIES = documented(
        Text="",
        PlaceholderText="",
        HTML="",
        Alignment=None,
        ReadOnly=False,
        TextColor=None,
        TextBackgroundColor=None,
        TabStopWidth=None,
        Lexer=None,
    )
    EVENTS = ("TextChanged", "SelectionChanged", "CursorPositionChanged")


class ComboBox(Element):
    PROPERTIES = documented(Editable=False)
    EVENTS = ("CurrentIndexChanged", "CurrentTextChanged", "TextEdited", "EditTextChanged", "Activated")

    def __init__(self, props: dict[str, Any] | None = None) -> None:
        object.__setattr__(self, "items", [])
        object.__setattr__(self, "_index", -1)
        super().__init__(props)

    @property
    def CurrentIndex(self) -> int:
        return self._index

    @CurrentIndex.setter
    def CurrentIndex(self, index: int) -> None:
        if not 0 <= index < len(self.items):
            raise AssertionError(f"ComboBox {self.ID!r} has no item {index} (it has {len(self.items)})")
        object.__setattr__(self, "_index", index)

    @property
    def CurrentText(self) -> str:
        return self.items[self._index] if self._index >= 0 else ""

    def AddItem(self, text: str) -> None:
        self.AddItems([text])

    def AddItems(self, texts: list[str]) -> None:
        self.items.extend(texts)
        if self._index < 0 and self.items:  # the first item is current once there is one (UI_elements_attrb)
            object.__setattr__(self, "_index", 0)

    def Clear(self) -> None:
        self.items.clear()
        object.__setattr__(self, "_index", -1)

    def Count(self) -> int:
        return len(self.items)


class SpinBox(Element):
    PROPERTIES = documented(
        Minimum=0, Maximum=99, SingleStep=1, Prefix="", Suffix="", ReadOnly=False, Alignment=None, Wrapping=False
    )
    EVENTS = ("ValueChanged", "EditingFinished")

    def __init__(self, props: dict[str, Any] | None = None) -> None:
        object.__setattr__(self, "_value", 0)
        super().__init__(props)

    @property
    def Value(self) -> int:
        return max(self.Minimum, min(self.Maximum, self._value))

    @Value.setter
    def Value(self, value: int) -> None:
        object.__setattr__(self, "_value", value)


class TreeItem(Element):
    PROPERTIES = documented(Selected=False, Hidden=False, Expanded=False, Disabled=False)
    ARRAYS = ("Text", "ToolTip", "StatusTip", "WhatsThis", "BackgroundColor", "TextColor", "Icon", "Font")


class Tree(Element):
    PROPERTIES = documented(
        ColumnCount=1,
        SortingEnabled=False,
        HeaderHidden=False,
        SelectionMode=None,
        SelectionBehavior=None,
        AlternatingRowColors=False,
        WordWrap=False,
    )
    ARRAYS = ("ColumnWidth",)
    EVENTS = (
        "CurrentItemChanged",
        "ItemClicked",
        "ItemPressed",
        "ItemActivated",
        "ItemDoubleClicked",
        "ItemChanged",
        "ItemSelectionChanged",
    )

    def __init__(self, props: dict[str, Any] | None = None) -> None:
        object.__setattr__(self, "rows", [])
        object.__setattr__(self, "header", None)
        super().__init__(props)

    def NewItem(self) -> TreeItem:
        return TreeItem()

    def AddTopLevelItem(self, item: TreeItem) -> None:
        self.rows.append(item)

    def AddTopLevelItems(self, items: list[TreeItem]) -> None:
        self.rows.extend(items)

    def TopLevelItemCount(self) -> int:
        return len(self.rows)

    def TopLevelItem(self, index: int) -> TreeItem | None:
        return self.rows[index] if 0 <= index < len(self.rows) else None

    def Clear(self) -> None:
        self.rows.clear()

    def SetHeaderItem(self, item: TreeItem) -> None:
        object.__setattr__(self, "header", item)

    def SelectedItems(self) -> list[TreeItem]:
        return [row for row in self.rows if row.Selected]

    def texts(self) -> list[list[str]]:
        """Every row's columns, as the person sees them (for tests)."""
        return [[row.Text[column] for column in range(self.ColumnCount)] for row in self.rows]


class Timer(Element):
    PROPERTIES = documented(Interval=0, SingleShot=False)

    def __init__(self, props: dict[str, Any] | None = None) -> None:
        object.__setattr__(self, "active", False)
        super().__init__(props)

    @property
    def IsActive(self) -> bool:
        return self.active

    def Start(self) -> None:
        object.__setattr__(self, "active", True)

    def Stop(self) -> None:
        object.__setattr__(self, "active", False)


class Window(Element):
    EVENTS = WINDOW_EVENTS

    def __init__(self, props: dict[str, Any], children: Iterable[Element]) -> None:
        object.__setattr__(self, "On", Handlers())
        object.__setattr__(self, "shown", False)
        super().__init__(props, children)

    def Show(self) -> None:
        object.__setattr__(self, "shown", True)

    def Hide(self) -> None:
        object.__setattr__(self, "shown", False)

    def element(self, ID: str) -> Element:
        """The window itself or the child with this ID; a missing one fails the test."""
        found = self if ID == self.ID else self.Find(ID)
        if found is None:
            raise AssertionError(f"window {self.ID!r} has no element {ID!r}")
        return found


class EventHandlers:
    """`On.<ID>`: a handler for each event of one element."""

    def __init__(self) -> None:
        object.__setattr__(self, "events", {})

    def __setattr__(self, event: str, handler: Handler) -> None:
        self.events[event] = handler

    def __getattr__(self, event: str) -> Handler | None:
        return object.__getattribute__(self, "events").get(event)


class Handlers:
    """A window's `On`: `On.<ID>` or `On[ID]`, then the event's name."""

    def __init__(self) -> None:
        object.__setattr__(self, "by_id", {})

    def __getitem__(self, element_id: str) -> EventHandlers:
        return self.by_id.setdefault(element_id, EventHandlers())

    def __getattr__(self, element_id: str) -> EventHandlers:
        return self[element_id]

    def handler(self, element_id: str, event: str) -> Handler | None:
        return self.by_id[element_id].events.get(event) if element_id in self.by_id else None


class DispatcherHandlers(Handlers):
    """The dispatcher's `On`: `On.Timeout = fn` (or `On["Timeout"]`) takes every timer's ticks."""

    def __init__(self) -> None:
        super().__init__()
        object.__setattr__(self, "general", {})

    def __setattr__(self, event: str, handler: Handler) -> None:
        self.general[event] = handler

    def __setitem__(self, event: str, handler: Handler) -> None:
        self.general[event] = handler


class UIManager:
    """`fusion.UIManager`: the element constructors, each taking a dict of properties."""

    def __init__(self) -> None:
        self.timers: list[Timer] = []

    @staticmethod
    def _group(kind: type[Element], args: tuple[Any, ...]) -> Element:
        """`ui.VGroup([children])`, `ui.VGroup(props, [children])`, or a single child without a list."""
        props = args[0] if args and isinstance(args[0], dict) else {}
        rest = args[1:] if args and isinstance(args[0], dict) else args
        children = rest[0] if rest and isinstance(rest[0], list) else list(rest)
        return kind(props, children)

    def VGroup(self, *args: Any) -> Element:
        return self._group(VGroup, args)

    def HGroup(self, *args: Any) -> Element:
        return self._group(HGroup, args)

    def HGap(self, size: float = 0, weight: float = 0) -> Element:
        return Gap({"Weight": weight})

    def VGap(self, size: float = 0, weight: float = 0) -> Element:
        return Gap({"Weight": weight})

    def Label(self, props: dict[str, Any]) -> Label:
        return Label(props)

    def Button(self, props: dict[str, Any]) -> Button:
        return Button(props)

    def TextEdit(self, props: dict[str, Any]) -> TextEdit:
        return TextEdit(props)

    def ComboBox(self, props: dict[str, Any]) -> ComboBox:
        return ComboBox(props)

    def SpinBox(self, props: dict[str, Any]) -> SpinBox:
        return SpinBox(props)

    def Tree(self, props: dict[str, Any]) -> Tree:
        return Tree(props)

    def Timer(self, props: dict[str, Any]) -> Timer:
        timer = Timer(props)
        self.timers.append(timer)
        return timer


class UIDispatcher:
    """`bmd.UIDispatcher(ui)`: windows, and the event loop, which runs the test's next script as the person."""

    def __init__(self, ui: UIManager, *scripts: Script) -> None:
        self.ui = ui
        self.On = DispatcherHandlers()
        self.windows: dict[str, Window] = {}
        self.scripts = list(scripts)
        self.exit_code: int | None = None
        self.running = False

    def __getitem__(self, name: str) -> Any:  # dispatcher["On"]["Timeout"] = fn (UI_elements_func, Timer)
        if name != "On":
            raise KeyError(name)
        return self.On

    def AddWindow(self, props: dict[str, Any], children: Any = ()) -> Window:
        window = Window(props, children if isinstance(children, list) else [children])
        self.windows[window.ID] = window
        return window

    def RunLoop(self) -> int:
        if not self.scripts:
            raise AssertionError("RunLoop was called, and the test has no script left for the person at the window")
        script = self.scripts.pop(0)
        self.exit_code, self.running = None, True
        try:
            script(User(self))
        finally:
            self.running = False
        if self.exit_code is None:
            raise AssertionError("the script ended, and the window never called ExitLoop")
        return self.exit_code

    def ExitLoop(self, code: int = 0) -> None:
        self.exit_code = code


class User:
    """The person at the window while RunLoop runs: clicks, types, selects, closes, and lets the timer tick."""

    def __init__(self, dispatcher: UIDispatcher) -> None:
        self.dispatcher = dispatcher

    @property
    def window(self) -> Window:
        """The window shown last."""
        shown = [window for window in self.dispatcher.windows.values() if window.shown]
        if not shown:
            raise AssertionError("no window is shown")
        return shown[-1]

    def items(self) -> dict[str, Element]:
        return self.window.GetItems()

    def _send(self, window: Window, element_id: str, event: str) -> None:
        """An event from the element, delivered as UIManager does: to `window.On[ID].<event>` if set."""
        if self.dispatcher.exit_code is not None:
            raise AssertionError(f"{event} on {element_id!r} after the window left its loop")
        element = window.element(element_id)
        if event not in element.EVENTS:
            raise AssertionError(f"a {element.kind} sends no {event} event")
        handler = window.On.handler(element_id, event)
        if handler is not None:
            handler({"who": element_id, "what": event, "when": time.monotonic(), "sender": element, "modifiers": {}})

    def click(self, button_id: str) -> None:
        button = self.window.element(button_id)
        if not button.Enabled:
            raise AssertionError(f"button {button_id!r} is disabled")
        self._send(self.window, button_id, "Clicked")

    def close(self) -> None:
        """The window's close button."""
        self._send(self.window, self.window.ID, "Close")

    def type(self, element_id: str, value: Any) -> None:
        """A value typed into a SpinBox (Value) or a LineEdit/TextEdit (Text)."""
        element = self.window.element(element_id)
        setattr(element, "Value" if isinstance(element, SpinBox) else "Text", value)

    def select(self, tree_id: str, keys: Iterable[str]) -> None:
        """Select the rows whose first column is one of `keys`, and no others (a click, then ctrl-clicks)."""
        tree = self.window.element(tree_id)
        assert isinstance(tree, Tree)
        wanted = set(keys)
        for row in tree.rows:
            row.Selected = row.Text[0] in wanted
        missing = wanted - {row.Text[0] for row in tree.rows}
        if missing:
            raise AssertionError(f"tree {tree_id!r} has no rows {sorted(missing)}")

    def tick(self) -> None:
        """Each running timer's Timeout, to the dispatcher's Timeout handler."""
        handler = self.dispatcher.On.general.get("Timeout")
        for timer in self.dispatcher.ui.timers:
            if timer.active and handler is not None:
                handler({"who": timer.ID, "what": "Timeout", "when": time.monotonic(), "sender": timer})

    def wait_until(self, predicate: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
        """Let the timer tick until `predicate` holds (the window changes only when it ticks)."""
        if not any(timer.active for timer in self.dispatcher.ui.timers):
            raise AssertionError(f"waiting for {what}, and no timer runs: nothing would change the window")
        deadline = time.monotonic() + timeout
        while True:
            self.tick()
            if predicate():
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(0.02)


class Fusion:
    """The `fusion` object a script gets: only its UIManager."""

    def __init__(self, ui: UIManager) -> None:
        self.UIManager = ui


class Bmd:
    """The `bmd` object a script gets: `bmd.UIDispatcher(ui)` answers the test's dispatcher."""

    def __init__(self, dispatcher: UIDispatcher) -> None:
        self.dispatcher = dispatcher

    def UIDispatcher(self, ui: UIManager) -> UIDispatcher:
        if ui is not self.dispatcher.ui:
            raise AssertionError("UIDispatcher was made for another UIManager")
        return self.dispatcher

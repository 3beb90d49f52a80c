"""A stand-in for Blender's UILayout, to draw the extension's panels in bpy-as-a-module, which has no window and
so never draws one.

Every call is checked as Blender checks it, from UILayout's own RNA description in the running bpy (so bpy 4.2
and 5.0 each check against their own API): the function exists; positional and keyword arguments fill its
parameters, the required ones are given, and each value has its parameter's type, an enum value (an icon, a
progress bar's type) being one of its items. `prop` must name a property the data has (Blender would draw an
error in its place), and `operator` a registered operator; the operator properties it returns take only what the
operator declares. Attributes set on a layout (`enabled`, `active`, ...) must be UILayout's. Every call is recorded
in order, sub-layouts (`row`, `box`, ...) into the same list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import bpy

FUNCTIONS = bpy.types.UILayout.bl_rna.functions
ATTRIBUTES = bpy.types.UILayout.bl_rna.properties


@dataclass
class Call:
    function: str
    arguments: dict[str, Any]
    properties: dict[str, Any] = field(default_factory=dict)  # what was set on an operator button's properties


class RecordingLayout:
    def __init__(self, calls: list[Call] | None = None) -> None:
        object.__setattr__(self, "calls", [] if calls is None else calls)

    def __getattr__(self, name: str) -> Any:
        if name not in FUNCTIONS:
            raise AttributeError(f"'UILayout' object has no attribute '{name}'")
        return lambda *args, **kwargs: self._call(name, args, kwargs)

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in ATTRIBUTES or ATTRIBUTES[name].is_readonly:
            raise AttributeError(f"UILayout has no writable attribute '{name}'")
        _check_value(f"UILayout.{name}", ATTRIBUTES[name], value)

    def find(self, function: str, **arguments: Any) -> list[Call]:
        """The calls of `function` whose arguments include `arguments`."""
        return [
            call
            for call in self.calls
            if call.function == function and all(call.arguments.get(key) == value for key, value in arguments.items())
        ]

    def texts(self) -> list[str]:
        return [call.arguments["text"] for call in self.calls if "text" in call.arguments]

    def _call(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        function = FUNCTIONS[name]
        arguments = _bind(function, args, kwargs)
        call = Call(name, arguments)
        self.calls.append(call)
        if name == "prop":
            _check_property_path(arguments["data"], arguments["property"])
        if name == "operator":
            return OperatorButton(arguments["operator"], call.properties)
        if any(parameter.is_output and parameter.identifier == "layout" for parameter in function.parameters):
            return RecordingLayout(self.calls)
        return None


class OperatorButton:
    """What `layout.operator` returns: the operator's properties, for the button to run it with."""

    def __init__(self, idname: str, values: dict[str, Any]) -> None:
        module, _, name = idname.partition(".")
        try:
            rna = getattr(getattr(bpy.ops, module), name).get_rna_type()
        except (AttributeError, KeyError):
            raise AssertionError(f"layout.operator: no operator {idname!r} is registered") from None
        object.__setattr__(self, "_rna", rna)
        object.__setattr__(self, "_idname", idname)
        object.__setattr__(self, "_values", values)

    def __setattr__(self, name: str, value: Any) -> None:
        properties = self._rna.properties
        if name == "rna_type" or name not in properties:
            raise AttributeError(f"{self._idname} has no property {name!r}")
        _check_value(f"{self._idname}.{name}", properties[name], value)
        self._values[name] = value


class Drawn:
    """`self` for a draw method: the recording layout, and the attributes of the object drawn (an add-on's
    preferences draw their own properties)."""

    def __init__(self, layout: RecordingLayout, target: bpy.types.bpy_struct | None = None) -> None:
        self.layout = layout
        self.target = target

    def __getattr__(self, name: str) -> Any:
        if self.target is None:
            raise AttributeError(name)
        return getattr(self.target, name)


def _bind(function: bpy.types.Function, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    where = f"UILayout.{function.identifier}()"
    parameters = [parameter for parameter in function.parameters if not parameter.is_output]
    names = [parameter.identifier for parameter in parameters]
    if len(args) > len(names):
        raise TypeError(f"{where} takes at most {len(names)} positional arguments ({len(args)} given)")
    bound = dict(zip(names, args, strict=False))
    for name, value in kwargs.items():
        if name not in names:
            raise TypeError(f"{where}: keyword {name!r} unrecognized")
        if name in bound:
            raise TypeError(f"{where}: {name!r} given twice")
        bound[name] = value
    for parameter in parameters:
        if parameter.identifier in bound:
            _check_value(f"{where} {parameter.identifier}", parameter, bound[parameter.identifier])
        elif parameter.is_required:
            raise TypeError(f"{where}: required parameter {parameter.identifier!r} not given")
    return bound


def _check_value(where: str, rna: bpy.types.Property, value: Any) -> None:
    if rna.type == "ENUM":
        items = rna.enum_items.keys()
        chosen = value if rna.is_enum_flag else {value}
        if not isinstance(chosen, set) or not all(isinstance(item, str) and item in items for item in chosen):
            raise TypeError(f"{where}: {value!r} is not one of its {len(items)} items")
        return
    expected = {
        "STRING": str,
        "BOOLEAN": bool | int,
        "INT": int,
        "FLOAT": float | int,
        "POINTER": bpy.types.bpy_struct | Drawn,
    }.get(rna.type, object)
    if not isinstance(value, expected) or (rna.type in ("INT", "FLOAT") and isinstance(value, bool)):
        raise TypeError(f"{where}: expected a {rna.type.lower()}, not {type(value).__name__} {value!r}")


def _check_property_path(data: Any, path: str) -> None:
    target = data.target if isinstance(data, Drawn) else data
    custom = path.startswith('["') and path.endswith('"]')  # an ID property: strip["milimo_prompt"]
    found = path[2:-2] in target if custom else path in target.bl_rna.properties
    if not found:
        raise AssertionError(f"layout.prop: {target!r} has no property {path!r}")

"""Blender data is only touched on the main thread: worker threads post callables here, a timer runs them.

Blender's guidance for threads (`bpy.app.timers`): never change `bpy` data from another thread. Every network call
runs on a worker thread; whatever it learns that must change the scene (progress, a finished clip) is posted as a
callable, and `drain` runs the posted callables on the main thread within a small time budget, so one busy tick can
never stall the interface: what does not fit waits for the next tick. Work that is heavy in itself (a finished clip
opened by Blender) is posted with `post_alone`: it runs at the start of a tick and ends it, so it never adds to the
budget already spent on other work.
"""

from __future__ import annotations

import queue
import time
import traceback
from collections.abc import Callable

import bpy

# Per tick: stop taking new work after this long, so the UI keeps drawing at 60 Hz (16 ms a frame).
BUDGET_S = 0.004
IDLE_INTERVAL_S = 0.1
BUSY_INTERVAL_S = 0.0

_posted: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
_held: list[Callable[[], None]] = []  # heavy work taken from the queue too late in a tick: the next tick's first
# Durations of the last ticks, for the stall benchmark and the tests.
stalls: list[float] = []


class _Alone:
    """Posted work that takes a tick of its own."""

    def __init__(self, work: Callable[[], None]) -> None:
        self.work = work

    def __call__(self) -> None:
        self.work()


def post(work: Callable[[], None]) -> None:
    """Run `work` on Blender's main thread soon. Safe from any thread."""
    _posted.put(work)


def post_alone(work: Callable[[], None]) -> None:
    """Run `work` on the main thread soon, in a tick of its own (nothing before it, nothing after it in that tick):
    for work that alone takes several milliseconds. Safe from any thread."""
    _posted.put(_Alone(work))


def drain(budget_s: float = BUDGET_S) -> float:
    """Run posted work for about `budget_s`; return the timer's next interval (sooner while work waits)."""
    started = time.perf_counter()
    ran = 0
    while time.perf_counter() - started < budget_s:
        try:
            work = _held.pop() if _held else _posted.get_nowait()
        except queue.Empty:
            break
        alone = isinstance(work, _Alone)
        if alone and ran:
            _held.append(work)
            break
        ran += 1
        try:
            work()
        except Exception:
            # One broken update must not stop the queue (the timer would be unregistered by Blender).
            traceback.print_exc()
        if alone:
            break
    stalls.append(time.perf_counter() - started)
    del stalls[:-1000]
    return BUSY_INTERVAL_S if _held or not _posted.empty() else IDLE_INTERVAL_S


def start() -> None:
    if not bpy.app.timers.is_registered(drain):
        # persistent: keep draining across File > Open, which otherwise drops every timer.
        bpy.app.timers.register(drain, first_interval=0.0, persistent=True)


def stop() -> None:
    if bpy.app.timers.is_registered(drain):
        bpy.app.timers.unregister(drain)
    _held.clear()
    while not _posted.empty():
        _posted.get_nowait()

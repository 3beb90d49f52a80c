"""Blender data is only touched on the main thread: worker threads post callables here, a timer runs them.

Blender's guidance for threads (`bpy.app.timers`): never change `bpy` data from another thread. Every network call
runs on a worker thread; whatever it learns that must change the scene (progress, a finished clip) is posted as a
callable, and `drain` runs the posted callables on the main thread within a small time budget, so one busy tick can
never stall the interface: what does not fit waits for the next tick.
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
# Durations of the last ticks, for the stall benchmark and the tests.
stalls: list[float] = []


def post(work: Callable[[], None]) -> None:
    """Run `work` on Blender's main thread soon. Safe from any thread."""
    _posted.put(work)


def drain(budget_s: float = BUDGET_S) -> float:
    """Run posted work for about `budget_s`; return the timer's next interval (sooner while work waits)."""
    started = time.perf_counter()
    while time.perf_counter() - started < budget_s:
        try:
            work = _posted.get_nowait()
        except queue.Empty:
            break
        try:
            work()
        except Exception:
            # One broken update must not stop the queue (the timer would be unregistered by Blender).
            traceback.print_exc()
    stalls.append(time.perf_counter() - started)
    del stalls[:-1000]
    return BUSY_INTERVAL_S if not _posted.empty() else IDLE_INTERVAL_S


def start() -> None:
    if not bpy.app.timers.is_registered(drain):
        # persistent: keep draining across File > Open, which otherwise drops every timer.
        bpy.app.timers.register(drain, first_interval=0.0, persistent=True)


def stop() -> None:
    if bpy.app.timers.is_registered(drain):
        bpy.app.timers.unregister(drain)
    while not _posted.empty():
        _posted.get_nowait()

"""Following a batch of jobs through `Jobs.WatchMany`: the bookkeeping, and one rich progress view over it.

`watch_batch` needs only grpcio (editor plugins drive their own UI from its callback); `follow_batch` draws
the terminal view with rich: an overall bar (finished jobs, with running ones counting by their progress)
and a bar for each running job. A stream takes at most 1000 jobs, so larger batches are watched in chunks,
each on its own stream, merged here.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from milimo.client.client import TERMINAL, Client
from milimo.v1 import jobs_pb2

if TYPE_CHECKING:
    from rich.console import Console

STREAM_MAX = 1000  # job ids one WatchMany stream takes
STATUS_NAMES = {value: name.removeprefix("JOB_STATUS_").lower() for name, value in jobs_pb2.JobStatus.items()}


def status_name(status: int) -> str:
    """A job status as people read it: "queued", "running", "succeeded"…, or its number when it is unknown."""
    return STATUS_NAMES.get(status, str(status))


@dataclass
class JobState:
    """What a batch view knows of one job."""

    label: str
    job: jobs_pb2.Job  # as submitted, then updated by each state event

    @property
    def terminal(self) -> bool:
        return self.job.status in TERMINAL

    @property
    def running(self) -> bool:
        return self.job.status == jobs_pb2.JOB_STATUS_RUNNING

    @property
    def fraction(self) -> float:
        """How far the job is, 0..1: 1 once it ended, its step over total while it runs."""
        if self.terminal:
            return 1.0
        progress = self.job.progress
        return min(progress.step / progress.total, 1.0) if self.running and progress.total else 0.0


class BatchState:
    """Every job of a batch as the events say; `apply` takes the events in the order they arrive."""

    def __init__(self, jobs: Iterable[jobs_pb2.Job], labels: Mapping[str, str] | None = None) -> None:
        labels = labels or {}
        self.jobs = {job.id: JobState(labels.get(job.id, job.id), _copy(job)) for job in jobs}

    def apply(self, event: jobs_pb2.JobEvent) -> JobState:
        state = self.jobs[event.job_id]
        job = state.job
        if event.HasField("state"):
            job.status = event.state.status
            job.reason = event.state.reason
            if event.state.attempt:
                job.attempts = event.state.attempt
            if event.state.result_asset_ids:
                job.result_asset_ids[:] = event.state.result_asset_ids
        elif event.HasField("progress"):
            job.progress.CopyFrom(event.progress)
        job.last_sequence = max(job.last_sequence, event.sequence)
        return state

    @property
    def done(self) -> int:
        return sum(1 for state in self.jobs.values() if state.terminal)

    @property
    def completed(self) -> float:
        """Finished jobs plus the fractions of the running ones: the overall bar's position."""
        return sum(state.fraction for state in self.jobs.values())

    def finals(self) -> dict[str, jobs_pb2.Job]:
        return {job_id: state.job for job_id, state in self.jobs.items()}


def watch_batch(
    client: Client,
    jobs: Iterable[jobs_pb2.Job],
    labels: Mapping[str, str] | None = None,
    on_change: Callable[[BatchState, JobState], None] | None = None,
) -> dict[str, jobs_pb2.Job]:
    """Follow the jobs until every one is terminal; returns each job's final state (status, reason, results)
    as its events left it. `on_change` sees the batch after each event, on the calling thread."""
    batch = BatchState(jobs, labels)
    ids = list(batch.jobs)
    chunks = [ids[start : start + STREAM_MAX] for start in range(0, len(ids), STREAM_MAX)]
    events: queue.Queue[jobs_pb2.JobEvent | BaseException | None] = queue.Queue(maxsize=4096)

    def stream(chunk: list[str]) -> None:
        try:
            for event in client.watch_many(chunk):
                events.put(event)
        except BaseException as error:  # handed to the caller's thread, which raises it
            events.put(error)
        finally:
            events.put(None)

    threads = [threading.Thread(target=stream, args=(chunk,), daemon=True) for chunk in chunks]
    for thread in threads:
        thread.start()
    open_streams = len(threads)
    while open_streams:
        item = events.get()
        if item is None:
            open_streams -= 1
        elif isinstance(item, BaseException):
            raise item
        else:
            state = batch.apply(item)
            if on_change is not None:
                on_change(batch, state)
    return batch.finals()


def follow_batch(
    client: Client,
    jobs: Iterable[jobs_pb2.Job],
    labels: Mapping[str, str] | None = None,
    *,
    console: Console | None = None,
) -> dict[str, jobs_pb2.Job]:
    """`watch_batch` with one rich progress view: an overall bar and a bar per running job."""
    # rich is the CLI's; importing it here keeps the rest of the client library free of it.
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

    jobs = list(jobs)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[note]}"),
    )
    with Progress(*columns, console=console or Console(stderr=True)) as progress:
        overall = progress.add_task(f"{len(jobs)} jobs", total=len(jobs) or 1, note="")
        bars: dict[str, int] = {}

        def show(batch: BatchState, state: JobState) -> None:
            job_id = state.job.id
            if state.running:
                if job_id not in bars:
                    bars[job_id] = progress.add_task(f"  {state.label}", total=None, note="")
                p = state.job.progress
                progress.update(bars[job_id], completed=p.step, total=p.total or None, note=p.message)
            elif job_id in bars:
                progress.remove_task(bars.pop(job_id))
            failed = sum(1 for s in batch.jobs.values() if s.terminal and s.job.status != jobs_pb2.JOB_STATUS_SUCCEEDED)
            note = f"{batch.done} done" + (f", {failed} failed" if failed else "")
            progress.update(overall, completed=batch.completed, note=note)

        return watch_batch(client, jobs, labels, on_change=show)


def _copy(job: jobs_pb2.Job) -> jobs_pb2.Job:
    copy = jobs_pb2.Job()
    copy.CopyFrom(job)
    return copy

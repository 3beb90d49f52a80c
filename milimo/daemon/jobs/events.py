"""Live fan-out of job events to watchers. The database stays the record: a watcher that missed
anything (it was slow, or subscribed late) sees a gap in sequence numbers and reads it back."""

from __future__ import annotations

import asyncio
from collections import defaultdict, deque
from collections.abc import Iterator
from contextlib import contextmanager

from milimo.daemon.jobs.model import EventRecord

BUFFER = 256  # events kept per watcher; older ones are re-read from the database


class Subscription:
    def __init__(self) -> None:
        self.pending: deque[EventRecord] = deque(maxlen=BUFFER)
        self.wake = asyncio.Event()

    def push(self, event: EventRecord) -> None:
        self.pending.append(event)
        self.wake.set()

    async def next_batch(self) -> list[EventRecord]:
        await self.wake.wait()
        self.wake.clear()
        batch = list(self.pending)
        self.pending.clear()
        return batch


class EventHub:
    def __init__(self) -> None:
        self._subscriptions: dict[str, set[Subscription]] = defaultdict(set)

    def publish(self, events: list[EventRecord]) -> None:
        for event in events:
            for subscription in self._subscriptions.get(event.job_id, ()):
                subscription.push(event)

    @contextmanager
    def subscribe(self, job_id: str) -> Iterator[Subscription]:
        subscription = Subscription()
        self._subscriptions[job_id].add(subscription)
        try:
            yield subscription
        finally:
            subscribers = self._subscriptions[job_id]
            subscribers.discard(subscription)
            if not subscribers:
                del self._subscriptions[job_id]

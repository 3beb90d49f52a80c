"""A shot encoded on a thread of its own while the model makes its next chunk.

The model hands each chunk's final frames (a `chain.Piece`) over as soon as they are decoded; the encoder takes them
in order, so the accelerator never waits for the encoder, and at most `backlog` pieces wait in memory: a shot of any
length costs the memory of a few chunks, not of the whole shot.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from fractions import Fraction
from pathlib import Path
from types import TracebackType

import numpy as np

from milimo.media.ops import DEFAULT_AUDIO_RATE, MediaError, MediaInfo, VideoWriter, probe
from milimo.tasks.chain import Piece
from milimo.tasks.context import TaskCancelled, TaskContext

POLL_S = 0.25  # how often a waiting caller looks at the encoder (for its failure, a cancel, progress)


class ShotWriter:
    def __init__(self, path: Path, fps: Fraction, frames: int, *, backlog: int = 2) -> None:
        self.path = path
        self.fps = fps
        self.frames = frames  # the whole shot's, for progress
        self.encoded = 0
        self._pieces: queue.Queue[Piece | None] = queue.Queue(maxsize=backlog)
        self._writer: VideoWriter | None = None
        self._failure: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._encode, name="shot-writer", daemon=True)
        self._thread.start()

    def __enter__(self) -> ShotWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is not None:
            self.abort()

    def put(self, piece: Piece) -> None:
        """Queue a piece for encoding; waits while `backlog` pieces are waiting, and raises the encoder's failure."""
        self._send(piece)

    def finish(self, ctx: TaskContext) -> MediaInfo:
        """Encode what is left, reporting it and honouring a cancel, then put the file in place."""
        self._send(None)  # the end of the shot
        while self._thread.is_alive():
            self._thread.join(POLL_S)
            try:
                ctx.raise_if_cancelled()
            except TaskCancelled:
                self.abort()
                raise
            ctx.progress(self.encoded, self.frames, f"encoding · frame {self.encoded}/{self.frames}")
        self._raise_failure()
        if self._writer is None:
            raise MediaError(f"no frames were made for {self.path}")
        self._writer.close()
        return probe(self.path)

    def abort(self) -> None:
        """Stop the encoder and delete what it wrote; `path` is left untouched."""
        self._stop.set()
        with contextlib.suppress(queue.Full):  # wakes an encoder waiting for a piece; a busy one sees the stop
            self._pieces.put_nowait(None)
        self._thread.join()
        if self._writer is not None:
            self._writer.abort()

    def _send(self, piece: Piece | None) -> None:
        while True:
            self._raise_failure()
            try:
                self._pieces.put(piece, timeout=POLL_S)
                return
            except queue.Full:
                continue

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure

    def _encode(self) -> None:
        try:
            while (piece := self._pieces.get()) is not None and not self._stop.is_set():
                self._write(piece)
        except BaseException as failure:  # handed to the task's thread at its next put or finish
            self._failure = failure
        finally:
            while not self._pieces.empty():  # nobody reads them any more: free their memory
                self._pieces.get_nowait()

    def _write(self, piece: Piece) -> None:
        if self._writer is None:
            height, width = piece.frames.shape[1:3]
            channels = None if piece.audio is None else piece.audio.shape[0]
            self._writer = VideoWriter(
                self.path,
                width,
                height,
                self.fps,
                audio=None if channels is None else np.zeros((channels, 0), np.float32),
                audio_sample_rate=piece.sample_rate or DEFAULT_AUDIO_RATE,
            )
        if piece.audio is not None:
            self._writer.extend_audio(piece.audio)
        for frame in piece.frames:
            if self._stop.is_set():
                return
            self._writer.write(frame)
            self.encoded += 1

"""`milimo fill`'s daemon side: queue the placeholders' jobs once, follow them, download what they made.

Between fill.plan (read and check) and fill.finish (fill, write, verify): submitting is idempotent (see
fill.request_key), so a fill that crashed and runs again picks up the jobs it queued, and the files it
already downloaded, instead of making them twice.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import grpc

from milimo.client import Client
from milimo.errors import FailedPrecondition, InvalidArgument
from milimo.otio import fill
from milimo.v1 import jobs_pb2

GIVE_UP = {jobs_pb2.JOB_STATUS_FAILED, jobs_pb2.JOB_STATUS_CANCELLED}
SUBMIT_BATCH_MAX = 1000  # jobs one SubmitBatch takes
ATTEMPTS_MAX = 100  # attempt keys walked past per placeholder; far more than anyone re-runs a fill


def submit(client: Client, fill_plan: fill.FillPlan, *, priority: int = 0) -> list[jobs_pb2.Job]:
    """Queue one job per placeholder (in order), in batches of at most 1000. A key that names a job that
    failed or was cancelled moves on to the next attempt's key, so a new run tries again exactly once."""
    requests = fill.submissions(fill_plan, priority=priority)
    jobs = [jobs_pb2.Job() for _ in requests]
    pending = list(range(len(requests)))
    for attempt in range(ATTEMPTS_MAX):
        for start in range(0, len(pending), SUBMIT_BATCH_MAX):
            chunk = pending[start : start + SUBMIT_BATCH_MAX]
            for index, job in zip(
                chunk, _submit_batch(client, fill_plan, [requests[i] for i in chunk], chunk), strict=True
            ):
                jobs[index] = job
        pending = [index for index in pending if jobs[index].status in GIVE_UP]
        if not pending:
            return jobs
        for index in pending:
            placeholder = fill_plan.placeholders[index]
            requests[index].client_request_id = fill.request_key(fill_plan.source, placeholder, attempt=attempt + 1)
    raise FailedPrecondition(
        f"{len(pending)} placeholders failed {ATTEMPTS_MAX} times in earlier fills; see `milimo jobs`"
    )


def _submit_batch(
    client: Client, fill_plan: fill.FillPlan, requests: list[jobs_pb2.SubmitJobRequest], indices: list[int]
) -> list[jobs_pb2.Job]:
    try:
        return client.submit_batch(requests)
    except grpc.RpcError as error:
        # The daemon names the job by its place in the batch (`jobs[3].request.video.model`); say which clip.
        found = re.match(r"jobs\[(\d+)\]\.?(.*)", error.details() or "")
        if error.code() != grpc.StatusCode.INVALID_ARGUMENT or found is None:
            raise
        placeholder = fill_plan.placeholders[indices[int(found.group(1))]]
        raise InvalidArgument(placeholder.label, found.group(2)) from None


def labels(fill_plan: fill.FillPlan, jobs: Sequence[jobs_pb2.Job]) -> dict[str, str]:
    """Each job's clip, for the progress view."""
    return {job.id: placeholder.label for job, placeholder in zip(jobs, fill_plan.placeholders, strict=True)}


def download(
    client: Client,
    fill_plan: fill.FillPlan,
    finals: dict[str, jobs_pb2.Job],
    jobs: Sequence[jobs_pb2.Job],
    *,
    on_file: Callable[[int, int], None] | None = None,
) -> tuple[dict[str, fill.Generated], list[tuple[fill.Placeholder, jobs_pb2.Job]]]:
    """Download each succeeded job's clip into the media folder (kept across runs: asset files never change);
    returns the generated files by placeholder path, and the placeholders whose jobs did not succeed."""
    if jobs:
        fill_plan.media_dir.mkdir(parents=True, exist_ok=True)
    generated: dict[str, fill.Generated] = {}
    failed = []
    total = len(jobs)
    for done, (placeholder, submitted) in enumerate(zip(fill_plan.placeholders, jobs, strict=True), start=1):
        job = finals.get(submitted.id, submitted)
        if job.status != jobs_pb2.JOB_STATUS_SUCCEEDED or not job.result_asset_ids:
            failed.append((placeholder, job))
        else:
            target = fill.media_file(fill_plan, placeholder, job.result_asset_ids[0])
            if not target.exists():
                client.download(job.result_asset_ids[0], target)
            generated[placeholder.path] = fill.Generated(target, job)
        if on_file is not None:
            on_file(done, total)
    return generated, failed

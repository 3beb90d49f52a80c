"""Jobs service: proto in, JobService calls, proto out."""

from __future__ import annotations

import grpc

from milimo.daemon.jobs.dispatcher import Dispatcher
from milimo.daemon.jobs.service import JobService, JobSubmission
from milimo.daemon.servicers import convert
from milimo.daemon.servicers.status import maps_errors
from milimo.v1 import jobs_pb2, jobs_pb2_grpc


def _submission(request: jobs_pb2.SubmitJobRequest) -> JobSubmission:
    return JobSubmission(
        request=request.request,
        priority=request.priority,
        project_id=request.project_id,
        shot_id=request.shot_id,
        client_request_id=request.client_request_id,
        labels=dict(request.labels),
    )


class JobsServicer(jobs_pb2_grpc.JobsServicer):
    def __init__(self, jobs: JobService, dispatcher: Dispatcher) -> None:
        self.jobs = jobs
        self.dispatcher = dispatcher

    @maps_errors
    async def Submit(self, request: jobs_pb2.SubmitJobRequest, context: grpc.aio.ServicerContext) -> jobs_pb2.Job:
        (job,) = await self.jobs.submit_batch([_submission(request)], prefix_fields=False)
        return convert.job(job)

    @maps_errors
    async def SubmitBatch(
        self, request: jobs_pb2.SubmitBatchRequest, context: grpc.aio.ServicerContext
    ) -> jobs_pb2.SubmitBatchResponse:
        jobs = await self.jobs.submit_batch([_submission(job) for job in request.jobs])
        return jobs_pb2.SubmitBatchResponse(jobs=[convert.job(job) for job in jobs])

    @maps_errors
    async def Get(self, request: jobs_pb2.GetJobRequest, context: grpc.aio.ServicerContext) -> jobs_pb2.Job:
        return convert.job(await self.jobs.get(request.job_id))

    @maps_errors
    async def List(
        self, request: jobs_pb2.ListJobsRequest, context: grpc.aio.ServicerContext
    ) -> jobs_pb2.ListJobsResponse:
        jobs, token = await self.jobs.list(
            statuses=convert.statuses_from_proto(list(request.statuses)),
            kind=request.kind,
            project_id=request.project_id,
            page_size=request.page.page_size,
            page_token=request.page.page_token,
        )
        return jobs_pb2.ListJobsResponse(jobs=[convert.job(job) for job in jobs], next_page_token=token)

    @maps_errors
    async def Watch(self, request: jobs_pb2.WatchJobRequest, context: grpc.aio.ServicerContext):  # noqa: ANN201
        async for event in self.jobs.watch(request.job_id, request.after_sequence):
            yield convert.event(event)

    @maps_errors
    async def WatchMany(self, request: jobs_pb2.WatchManyRequest, context: grpc.aio.ServicerContext):  # noqa: ANN201
        async for event in self.jobs.watch_many(list(request.job_ids), previews=request.previews):
            yield convert.event(event)

    @maps_errors
    async def Cancel(self, request: jobs_pb2.CancelJobRequest, context: grpc.aio.ServicerContext) -> jobs_pb2.Job:
        return convert.job(await self.jobs.cancel(request.job_id))

    @maps_errors
    async def Retry(self, request: jobs_pb2.RetryJobRequest, context: grpc.aio.ServicerContext) -> jobs_pb2.Job:
        return convert.job(await self.jobs.retry(request.job_id))

    async def _queue_state(self) -> jobs_pb2.QueueState:
        queued, running = await self.jobs.queue_counts()
        return jobs_pb2.QueueState(paused=self.dispatcher.paused, queued=queued, running=running)

    @maps_errors
    async def PauseQueue(
        self, request: jobs_pb2.PauseQueueRequest, context: grpc.aio.ServicerContext
    ) -> jobs_pb2.QueueState:
        self.dispatcher.pause()
        return await self._queue_state()

    @maps_errors
    async def ResumeQueue(
        self, request: jobs_pb2.ResumeQueueRequest, context: grpc.aio.ServicerContext
    ) -> jobs_pb2.QueueState:
        self.dispatcher.resume()
        return await self._queue_state()

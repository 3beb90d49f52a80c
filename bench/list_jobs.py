"""5. Listing a page of 100 jobs out of 10,000 (goal: at most 50 ms).

Against the data directory the submit benchmark filled (10,000 queued jobs; the daemon starts
paused), Jobs.List with page_size=100: the first page, and a deep page (the 50th, reached by
following page tokens). Baseline: Jobs.Get of one job on the same daemon.
"""

from __future__ import annotations

from bench.common import Daemon, Result, Suite, ms, percentile, timed
from milimo.v1 import common_pb2, jobs_pb2

NAME = "list"
TITLE = "Listing a page of 100 with 10,000 rows"
GOAL_S = 0.050
PAGE = 100
DEEP = 50  # the page number of the deep page
CALLS = 200


def run(suite: Suite) -> Result:
    with Daemon(suite.store_with_jobs(), "--paused") as daemon:
        client = daemon.client()
        first = jobs_pb2.ListJobsRequest(page=common_pb2.PageRequest(page_size=PAGE))
        reply = client.jobs.List(first)
        assert len(reply.jobs) == PAGE, len(reply.jobs)
        get = jobs_pb2.GetJobRequest(job_id=reply.jobs[0].id)

        token = ""
        for _ in range(DEEP - 1):
            token = client.jobs.List(
                jobs_pb2.ListJobsRequest(page=common_pb2.PageRequest(page_size=PAGE, page_token=token))
            ).next_page_token
        deep = jobs_pb2.ListJobsRequest(page=common_pb2.PageRequest(page_size=PAGE, page_token=token))
        assert len(client.jobs.List(deep).jobs) == PAGE

        timed(lambda: client.jobs.List(first), 20)
        first_s = timed(lambda: client.jobs.List(first), CALLS)
        deep_s = timed(lambda: client.jobs.List(deep), CALLS)
        timed(lambda: client.jobs.Get(get), 100)
        get_s = timed(lambda: client.jobs.Get(get), 1000)

    worst = max(percentile(first_s, 99), percentile(deep_s, 99))
    return Result(
        name=NAME,
        title=TITLE,
        figure=(
            f"first page p50 {ms(percentile(first_s, 50))} / p99 {ms(percentile(first_s, 99))}; "
            f"page {DEEP} p50 {ms(percentile(deep_s, 50))} / p99 {ms(percentile(deep_s, 99))}"
        ),
        goal=f"≤ {ms(GOAL_S)}",
        met=worst <= GOAL_S,
        baseline=f"Jobs.Get on the same daemon: p50 {ms(percentile(get_s, 50))} / p99 {ms(percentile(get_s, 99))}",
        ratio=(
            f"p50 {percentile(first_s, 50) / percentile(get_s, 50):.1f}x (first) and "
            f"{percentile(deep_s, 50) / percentile(get_s, 50):.1f}x (deep) a Get's p50"
        ),
        details=[f"{CALLS} calls per page, sequential, one client; 10,000 jobs in the table"],
    )

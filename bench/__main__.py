"""Run the benchmarks: `python -m bench` runs all of them, `python -m bench NAME ...` only those named.

SQLite (the default backend) unless --postgres: then every daemon gets a database of its own on a
throwaway local PostgreSQL server (tests/postgres.py; note it runs with fsync=off).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import platform
import sys
import time
from collections.abc import Iterator

from bench import (
    fill,
    get_latency,
    job_overhead,
    list_jobs,
    model_switch,
    ray_busy_calls,
    ray_calls,
    ray_dispatch,
    screenplay,
    startup,
    submit,
    transfer,
    watch_latency,
)
from bench.common import Result, Suite, others_meter

# In the issues' order; list and startup reuse the 10,000 jobs that submit leaves behind.
BENCHMARKS = {
    module.NAME: module
    for module in (
        get_latency,
        watch_latency,
        transfer,
        submit,
        list_jobs,
        startup,
        model_switch,
        job_overhead,
        screenplay,
        fill,
        ray_dispatch,
        ray_calls,
        ray_busy_calls,
    )
}


@contextlib.contextmanager
def _suite(postgres: bool) -> Iterator[Suite]:
    if not postgres:
        suite = Suite()
        try:
            yield suite
        finally:
            suite.close()
        return
    from tests import postgres as pg

    with pg.cluster() as admin_url:
        if admin_url is None:
            raise SystemExit("--postgres: PostgreSQL is not installed here (or set MILIMO_TEST_POSTGRES_URL)")
        suite = Suite(admin_url)
        try:
            yield suite
        finally:
            suite.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"any of: {', '.join(BENCHMARKS)} (default: all)")
    parser.add_argument("--postgres", action="store_true", help="run the daemons on a local PostgreSQL server")
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    names = args.names or list(BENCHMARKS)

    results: list[Result] = []
    started = time.monotonic()
    with _suite(args.postgres) as suite:
        print(f"milimo benchmarks, {datetime.date.today()}: {os.cpu_count()} cores, {platform.machine()}, CPU only")
        print(f"python {platform.python_version()}, database {suite.backend}", flush=True)
        for name in names:
            os.sync()  # the last benchmark's dirty pages are written out before the next one starts
            with others_meter() as others:
                result = BENCHMARKS[name].run(suite)
                result.others = others()
            result.print()
            results.append(result)

    print(f"\nsummary ({suite.backend}, {time.monotonic() - started:.0f} s):")
    print("| benchmark | figure | goal | met | baseline | ratio | others' load |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        met = "yes" if r.met else "no"
        print(f"| {r.name} | {r.figure} | {r.goal} | {met} | {r.baseline} | {r.ratio} | {r.others:.2f} cores |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Timelines: the `milimo.shot` placeholder convention in OTIO, EDL and FCP XML (conventions, carriers), reading
and writing by suffix (formats), item-by-item comparison (compare), `milimo fill` (fill: bookkeeping;
fill_jobs: the daemon side), the storyboard as a timeline (export), and the CLI commands (commands).
See docs/otio.md."""

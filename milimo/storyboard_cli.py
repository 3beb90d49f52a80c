"""`milimo storyboard …`: a screenplay into a board, its elements, every shot rendered, the board as a timeline."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.tree import Tree

from milimo.cli_common import ConfigOption, asset_id_of, console, fail, follow, open_client, status_name
from milimo.client import Client
from milimo.client.batch import follow_batch
from milimo.otio import commands as timeline_commands
from milimo.v1 import common_pb2, jobs_pb2, projects_pb2, storyboard_pb2

storyboard_app = typer.Typer(help="Storyboards: screenplays, scenes and shots, elements.", no_args_is_help=True)
element_app = typer.Typer(help="Recurring characters, props and locations of a project.", no_args_is_help=True)
storyboard_app.add_typer(element_app, name="element")
storyboard_app.command("export")(timeline_commands.export_storyboard)

KINDS = {
    "character": storyboard_pb2.ELEMENT_KIND_CHARACTER,
    "prop": storyboard_pb2.ELEMENT_KIND_PROP,
    "location": storyboard_pb2.ELEMENT_KIND_LOCATION,
}
KIND_NAMES = {value: name for name, value in KINDS.items()}
ProjectArgument = Annotated[str, typer.Argument(help="project id (p-…)")]


@storyboard_app.command("import")
def import_screenplay(
    script: Annotated[Path, typer.Argument(help=".fountain, .fdx or plain text", exists=True, dir_okay=False)],
    project: Annotated[str, typer.Option("--project", help="add to this project (p-…)")] = "",
    name: Annotated[str, typer.Option(help="a new project's name (default: the script's title)")] = "",
    width: Annotated[int, typer.Option(help="a new project's width")] = 1280,
    height: Annotated[int, typer.Option(help="a new project's height")] = 704,
    fps: Annotated[str, typer.Option(help="a new project's frame rate: 24, 25, 30000/1001…")] = "24",
    parser: Annotated[str, typer.Option(help="auto, fountain, fdx, text or llm")] = "auto",
    replace: Annotated[bool, typer.Option("--replace", help="replace the project's scenes and shots")] = False,
    elements: Annotated[bool, typer.Option(help="add an element per character and location")] = True,
    config: ConfigOption = None,
) -> None:
    """Read a screenplay into a project's storyboard (a new project unless --project); prints the project id."""
    with open_client(config) as client:
        project_id = project or new_project(client, name or script.stem, width, height, fps).id
        script_id = asset_id_of(client, str(script), "SCRIPT", project_id)
        request = jobs_pb2.JobRequest(
            screenplay=jobs_pb2.ScreenplayRequest(
                project_id=project_id, asset_id=script_id, parser=parser, replace=replace, create_elements=elements
            )
        )
        job = client.submit(request, project_id=project_id)
        done = follow(client, job.id, f"reading {script.name}")
        if done.status != jobs_pb2.JOB_STATUS_SUCCEEDED:
            fail(f"job {job.id} {status_name(done.status)}: {done.reason}")
        for warning in job_warnings(client, job.id):
            console.print(f"[yellow]warning:[/yellow] {warning}")
        show_board(client, project_id)
    print(project_id, flush=True)


def new_project(client: Client, name: str, width: int, height: int, fps: str) -> projects_pb2.Project:
    rate = Fraction(fps)
    project = projects_pb2.Project(
        name=name[:200], width=width, height=height, fps=common_pb2.Rational(num=rate.numerator, den=rate.denominator)
    )
    return client.projects.CreateProject(projects_pb2.CreateProjectRequest(project=project))


def job_warnings(client: Client, job_id: str) -> list[str]:
    """The warnings a job logged (such as the LLM parser falling back to the rules)."""
    logs = (event.log for event in client.watch(job_id) if event.HasField("log"))
    return [log.message.removeprefix("warning: ") for log in logs if log.message.startswith("warning: ")]


@storyboard_app.command("show")
def show(project: ProjectArgument, config: ConfigOption = None) -> None:
    """The board: scenes, shots with their durations and takes, and the elements."""
    with open_client(config) as client:
        show_board(client, project)


def show_board(client: Client, project_id: str) -> None:
    view = client.storyboard.GetStoryboard(storyboard_pb2.GetStoryboardRequest(project_id=project_id))
    fps = Fraction(view.project.fps.num, view.project.fps.den or 1)
    tree = Tree(f"[bold]{view.project.name}[/bold]  {view.project.id}")
    total = 0
    for scene_shots in view.scenes:
        scene = scene_shots.scene
        branch = tree.add(f"[bold]{scene.heading or '(no heading)'}[/bold]  {scene.id}")
        for shot in scene_shots.shots:
            branch.add(shot_line(shot, fps))
            total += shot.duration_frames
    for shot in view.shots_without_scene:
        tree.add(shot_line(shot, fps))
        total += shot.duration_frames
    console.print(tree)
    shots = sum(len(s.shots) for s in view.scenes) + len(view.shots_without_scene)
    console.print(f"{len(view.scenes)} scenes, {shots} shots, {float(total / fps):.1f} s")
    if view.elements:
        console.print(elements_table(view.elements))


def shot_line(shot: projects_pb2.Shot, fps: Fraction) -> str:
    take = "[green]take[/green]" if shot.asset_id else "[dim]no take[/dim]"
    text = (shot.description or shot.action).replace("\n", " ")
    cast = f"  [cyan]{', '.join(shot.characters)}[/cyan]" if shot.characters else ""
    return f"{shot.name:>6}  {float(shot.duration_frames / fps):5.1f} s  {take}  {text[:70]}{cast}"


def elements_table(elements: list[storyboard_pb2.Element]) -> Table:
    table = Table("element", "kind", "trigger", "references", "description")
    for element in elements:
        kind = KIND_NAMES.get(element.kind, "?")
        references = str(len(element.reference_asset_ids))
        table.add_row(element.id, kind, element.trigger, references, element.description[:60])
    return table


@storyboard_app.command("generate")
def generate(
    project: ProjectArgument,
    kind: Annotated[str, typer.Option(help="animatic, video or image")] = "animatic",
    model: Annotated[str, typer.Option(help="a configured model (video and image)")] = "",
    steps: Annotated[int, typer.Option(help="denoising steps (video and image); 0: the model's default")] = 0,
    seed: Annotated[int, typer.Option(help="0: a new seed per shot")] = 0,
    style: Annotated[str, typer.Option(help="added after every shot's prompt")] = "",
    shots: Annotated[list[str] | None, typer.Option("--shot", help="only this shot (repeatable)")] = None,
    only_missing: Annotated[bool, typer.Option("--only-missing", help="skip shots that have a take")] = False,
    priority: Annotated[int, typer.Option(help="higher runs first, -100..100")] = 0,
    config: ConfigOption = None,
) -> None:
    """Render every shot of the board (or those named) as a batch, with one progress view."""
    template = shot_template(kind, model, steps, seed, style)
    with open_client(config) as client:
        response = client.storyboard.GenerateShots(
            storyboard_pb2.GenerateShotsRequest(
                project_id=project,
                shot_ids=shots or [],
                template=template,
                priority=priority,
                only_missing=only_missing,
            )
        )
        if not response.jobs:
            console.print("every shot already has a take")
            return
        console.print(f"batch {response.batch_id}: {len(response.jobs)} {kind} jobs")
        finals = follow_batch(client, list(response.jobs))
    failed = [job for job in finals.values() if job.status != jobs_pb2.JOB_STATUS_SUCCEEDED]
    if failed:
        for job in failed:
            console.print(f"[red]shot {job.shot_id}[/red] job {job.id} {status_name(job.status)}: {job.reason}")
        fail(f"{len(failed)} of {len(finals)} shots did not render")


def shot_template(kind: str, model: str, steps: int, seed: int, style: str) -> jobs_pb2.JobRequest:
    if kind == "animatic":
        return jobs_pb2.JobRequest(animatic=jobs_pb2.AnimaticRequest(seed=seed))
    if kind == "video":
        return jobs_pb2.JobRequest(video=jobs_pb2.VideoShotRequest(model=model, steps=steps, seed=seed, prompt=style))
    if kind == "image":
        return jobs_pb2.JobRequest(image=jobs_pb2.ImageRequest(model=model, steps=steps, seed=seed, prompt=style))
    fail(f"--kind: must be animatic, video or image (got {kind!r})")


@storyboard_app.command("match")
def match(project: ProjectArgument, config: ConfigOption = None) -> None:
    """Which elements are in which shots, with each match's score and the signals behind it."""
    with open_client(config) as client:
        response = client.storyboard.MatchElements(storyboard_pb2.MatchElementsRequest(project_id=project))
    table = Table("shot", "element", "score", "why")
    for shot in response.shots:
        for element in shot.matches:
            why = "; ".join(f"{s.signal} {s.weight:.2f}: {s.evidence}" for s in element.signals)
            table.add_row(shot.shot_id, element.element_name, f"{element.score:.2f}", why)
    console.print(table)


@element_app.command("add")
def element_add(
    project: ProjectArgument,
    name: Annotated[str, typer.Argument(help="the element's name")],
    kind: Annotated[str, typer.Option(help="character, prop or location")] = "character",
    description: Annotated[str, typer.Option(help="how it looks; replaces its trigger word in prompts")] = "",
    trigger: Annotated[str, typer.Option(help="default: @ and the name without spaces")] = "",
    references: Annotated[
        list[str] | None, typer.Option("--reference", help="an image file or asset id (repeatable)")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Add an element to a project; prints its id."""
    if kind not in KINDS:
        fail(f"--kind: must be character, prop or location (got {kind!r})")
    with open_client(config) as client:
        ids = [asset_id_of(client, value, "--reference", project) for value in references or []]
        element = client.storyboard.CreateElement(
            storyboard_pb2.CreateElementRequest(
                element=storyboard_pb2.Element(
                    project_id=project,
                    kind=KINDS[kind],
                    name=name,
                    trigger=trigger,
                    description=description,
                    reference_asset_ids=ids,
                )
            )
        )
    print(element.id, flush=True)


@element_app.command("list")
def element_list(project: ProjectArgument, config: ConfigOption = None) -> None:
    """A project's elements."""
    with open_client(config) as client:
        response = client.storyboard.ListElements(storyboard_pb2.ListElementsRequest(project_id=project))
    console.print(elements_table(list(response.elements)))


@element_app.command("visualize")
def element_visualize(
    element: Annotated[str, typer.Argument(help="element id")],
    model: Annotated[str, typer.Option(help="a configured image model")],
    steps: Annotated[int, typer.Option(help="0: the model's default")] = 0,
    seed: Annotated[int, typer.Option(help="0: a new seed")] = 0,
    config: ConfigOption = None,
) -> None:
    """Render a reference still of an element from its description; it joins the element's references."""
    with open_client(config) as client:
        job = client.storyboard.VisualizeElement(
            storyboard_pb2.VisualizeElementRequest(
                element_id=element, image=jobs_pb2.ImageRequest(model=model, steps=steps, seed=seed)
            )
        )
        done = follow(client, job.id, f"visualizing {element}")
    if done.status != jobs_pb2.JOB_STATUS_SUCCEEDED:
        fail(f"job {job.id} {status_name(done.status)}: {done.reason}")
    console.print(f"{element}: reference still {done.result_asset_ids[0]}")

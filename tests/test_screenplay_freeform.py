"""Free-form scripts read by rules (sluglines, speakers in capitals, numbered shots, paragraphs), and how
"auto" tells free-form text from Fountain and Final Draft."""

from __future__ import annotations

from pathlib import Path

import pytest

from milimo.storyboard import Setting, detect_format, parse_screenplay
from milimo.storyboard.screenplay import DialogueLine
from tests.data.screenplays.feature import feature, mismatches
from tests.shared_data import SHARED_DATA, needs_shared_data

DATA = Path(__file__).parent / "data" / "screenplays"


def test_a_shot_list_with_numbered_scenes_and_one_line_speeches():
    script = parse_screenplay(DATA / "shot_list.txt")
    assert script.parser == "text"
    assert (script.title, script.title_page["author"]) == ("The Lighthouse Keeper", "Sam Ito")
    outside, stairs, bedroom = script.scenes
    assert (outside.script_number, outside.heading, outside.setting, outside.time_of_day) == (
        "1", "EXT. LIGHTHOUSE - DUSK", Setting.EXTERIOR, "DUSK",
    )  # fmt: skip
    assert (stairs.script_number, stairs.heading) == ("2", "INT. LIGHTHOUSE STAIRS - NIGHT")
    assert (bedroom.script_number, bedroom.heading, bedroom.setting) == ("3", "SCENE 3", Setting.UNSPECIFIED)
    # Each numbered line is a shot; a one-line speech joins the shot before it.
    assert [shot.action for shot in outside.shots] == [
        "1. Wide on the lighthouse, waves breaking below.",
        "2. Close on the lamp as it flickers to life.",
    ]
    assert outside.shots[1].dialogue == (DialogueLine("KEEPER", "Right on time."),)
    assert stairs.shots[0].dialogue == (
        DialogueLine("KEEPER", "Two hundred and twelve steps.", "muttering"),  # "KEEPER (muttering): …"
        DialogueLine("GULL", "Caw!", extension="O.S."),  # "GULL (O.S.): Caw!"
    )
    assert stairs.shots[0].characters == ("KEEPER",)
    assert stairs.shots[1].action == "4. INSERT - his logbook, a date circled in red."
    # "Interior design…" is a sentence, not a slugline: a lower-case prefix needs its dot.
    assert bedroom.shots[0].action.startswith("The keeper sleeps. Interior design")


def test_a_pdf_export_with_page_numbers_and_scene_numbers():
    script = parse_screenplay(DATA / "pdf_export.txt")
    assert script.parser == "text"
    dock, precinct = script.scenes
    assert (dock.script_number, dock.heading, dock.transition) == ("1", "EXT. DOCKYARD - NIGHT", "CUT TO:")
    assert (precinct.script_number, precinct.location, precinct.time_of_day, precinct.transition) == (
        "2", "PRECINCT - BULLPEN", "MOMENTS LATER", "FADE OUT.",
    )  # fmt: skip
    assert [shot.action for shot in dock.shots] == [
        "Fog. A crane swings overhead. DETECTIVE OKAFOR (50s) walks\nthe wet planks, collar up.",
        "Okafor turns.",
        "ANGLE ON LEE\nCrouched by a coil of rope, pointing at a SHOE.",
    ]
    assert dock.shots[0].dialogue == (
        DialogueLine("OKAFOR", "Nobody saw anything. Again."),
        DialogueLine("SERGEANT LEE", "Sir! Over here!", extension="O.S."),
    )
    # Speeches with no blank line between them, and a parenthetical in the middle of a speech.
    assert dock.shots[2].dialogue == (DialogueLine("LEE", "It's his.", "quietly"), DialogueLine("OKAFOR", "Bag it."))
    assert precinct.shots[0].dialogue[1:] == (
        DialogueLine("LEE", "Nobody. That's the thing."),
        DialogueLine("LEE", "There is no body.", "beat"),
    )
    assert precinct.shots[1].action == "BANG! A door slams somewhere."  # a shout in capitals is not a speaker


def test_loose_notes_with_headings_run_into_the_text():
    script = parse_screenplay(DATA / "loose_notes.txt")
    kitchen, garden = script.scenes
    assert (kitchen.heading, kitchen.setting, kitchen.location, kitchen.time_of_day) == (
        "int. kitchen - morning", Setting.INTERIOR, "kitchen", "MORNING",
    )  # fmt: skip
    assert [(shot.action, [d.speaker for d in shot.dialogue]) for shot in kitchen.shots] == [
        ("Mum is making toast. The radio plays.", ["TOM", "MUM"]),
        ("Tom climbs on a chair. The chair wobbles.", []),
        ("CLOSE ON the jar slipping from his fingers.", []),
    ]
    assert kitchen.shots[0].dialogue[1] == DialogueLine("MUM", "Top shelf.", "not looking up")
    assert kitchen.shots[0].characters == ("MUM", "TOM")
    assert (garden.setting, garden.time_of_day, garden.shots[0].action) == (
        Setting.EXTERIOR, "CONTINUOUS", "The jar rolls across the lawn.",
    )  # fmt: skip


def test_a_speech_ends_where_a_transition_or_slugline_follows_it():
    script = parse_screenplay("EXT. PIER - DAY\nANA\nJump!\nCUT TO:\nINT. BOAT - DAY\nDEV\nToo late.\n", "text")
    pier, boat = script.scenes
    assert (pier.shots[0].dialogue, pier.transition) == ((DialogueLine("ANA", "Jump!"),), "CUT TO:")
    assert boat.shots[0].dialogue == (DialogueLine("DEV", "Too late."),)


@pytest.mark.parametrize(
    ("line", "heading", "number"),
    [
        ("EXT PARK - DAY", "EXT PARK - DAY", ""),
        ("**INT. BARN - NIGHT**", "INT. BARN - NIGHT", ""),
        ("## EXT. FIELD - DAWN", "EXT. FIELD - DAWN", ""),
        ("12 INT. HOUSE - DAY 12", "INT. HOUSE - DAY", "12"),
        ("3. EXT. PIER - DUSK", "EXT. PIER - DUSK", "3"),
        ("Scene 5 - The roof", "The roof", "5"),
        ("SCENE 6: int. attic - night", "int. attic - night", "6"),
    ],
)
def test_sluglines(line, heading, number):
    [scene] = parse_screenplay(f"{line}\nSomething happens.\n", "text").scenes
    assert (scene.heading, scene.script_number, scene.shots[0].action) == (heading, number, "Something happens.")


@pytest.mark.parametrize(
    "line", ["Interior design is a career.", "Exterior walls need paint.", "Scene 4 was the best one."]
)
def test_sentences_are_not_sluglines(line):
    [scene] = parse_screenplay(f"{line}\n", "text").scenes
    assert (scene.heading, scene.shots[0].action) == ("", line)


def test_a_feature_length_script():
    script = feature(pages=120)
    parsed = parse_screenplay(script.text)
    assert parsed.parser == "text"
    assert mismatches(script, parsed, dual=False) == []  # plain text has no dual dialogue
    assert parsed.characters == script.speakers


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        pytest.param(SHARED_DATA / "fountain" / "brick_and_steel.fountain", "fountain", marks=needs_shared_data),
        pytest.param(SHARED_DATA / "fdx" / "TestFDX-FI.fdx", "fdx", marks=needs_shared_data),
        (DATA / "night_shift.fountain", "fountain"),
        (DATA / "shot_list.txt", "text"),
        (DATA / "pdf_export.txt", "text"),
        (DATA / "loose_notes.txt", "text"),
    ],
)
def test_auto_detects_the_format_from_the_content(path, expected):
    data = path.read_bytes()
    assert detect_format(data) == expected  # without the file name's help
    assert parse_screenplay(data).parser == expected
    assert parse_screenplay(path).parser == expected


def test_a_plainly_typed_screenplay_is_fountain_and_the_suffix_decides_first():
    typed = "INT. HOUSE - DAY\n\nAna waits.\n\nANA\nWell?\n"
    assert detect_format(typed) == "fountain"
    assert detect_format("ANA: Well?\nDEV: Well what?\n") == "text"
    assert detect_format("ANA: Well?\nDEV: Well what?\n", ".fountain") == "fountain"
    script = parse_screenplay(typed, "text")  # a format asked for is used as it is
    assert script.parser == "text" and script.scenes[0].shots[0].dialogue == (DialogueLine("ANA", "Well?"),)

"""Fountain screenplays into scenes and shots, and the model every parser shares: headings, cues, the shot
rule, characters present and durations. Real scripts: the Fountain project's "Brick & Steel" (shared data),
ours in tests/data/screenplays, and a generated feature-length one."""

from __future__ import annotations

from pathlib import Path

import pytest

from milimo.errors import InvalidArgument, NotFound
from milimo.storyboard import Setting, parse_screenplay
from milimo.storyboard.duration import (
    MAX_SHOT_S,
    MIN_SHOT_S,
    PARENTHETICAL_S,
    WORDS_PER_SECOND,
    action_seconds,
    estimate_shot_seconds,
)
from milimo.storyboard.screenplay import DialogueLine, parse_heading, split_cue
from tests.data.screenplays.feature import feature, mismatches
from tests.shared_data import SHARED_DATA, needs_shared_data

DATA = Path(__file__).parent / "data" / "screenplays"
BRICK = SHARED_DATA / "fountain" / "brick_and_steel.fountain"


def all_text(screenplay) -> str:
    return "\n".join(
        f"{shot.action}\n" + "\n".join(f"{d.speaker} {d.parenthetical} {d.text}" for d in shot.dialogue)
        for scene in screenplay.scenes
        for shot in scene.shots
    )


@needs_shared_data
def test_brick_and_steel():
    script = parse_screenplay(BRICK)
    assert script.parser == "fountain"
    assert script.title == "BRICK & STEEL FULL RETIRED"
    assert script.title_page["author"] == "Stu Maschwitz"
    assert script.title_page["contact"] == "Next Level Productions\n1588 Mission Dr.\nSolvang, CA 93463"
    assert [scene.heading for scene in script.scenes] == [
        "EXT. BRICK'S PATIO - DAY",
        "INT. TRAILER HOME - DAY",
        "EXT. BRICK'S POOL - DAY",
        "SNIPER SCOPE POV",  # forced: ".SNIPER SCOPE POV"
        "OPENING TITLES",
        "EXT. WOODEN SHACK - DAY",
        "INT. GARAGE - DAY",
        "EXT. PALATIAL MANSION - DAY",
    ]
    patio, trailer, pool, sniper, titles, shack, _garage, mansion = script.scenes
    assert (patio.setting, patio.location, patio.time_of_day) == (Setting.EXTERIOR, "BRICK'S PATIO", "DAY")
    assert (trailer.setting, trailer.location) == (Setting.INTERIOR, "TRAILER HOME")
    assert (sniper.setting, sniper.location, sniper.time_of_day) == (Setting.UNSPECIFIED, "SNIPER SCOPE POV", "")
    assert [s.transition for s in script.scenes] == [
        "SMASH CUT TO:", "CUT TO:", "", "CUT TO:", "SMASH CUT TO:", "CUT TO:", "CUT TO:", "BURN TO PINK.",
    ]  # fmt: skip
    assert script.characters == ("STEEL", "BRICK", "JACK", "DAN", "COGNITO", "MINION", "HANDSOME MAN")

    # Each action paragraph starts a shot; the dialogue after it belongs to it.
    assert [shot.action.split(",")[0].split(".")[0] for shot in patio.shots] == [
        "A gorgeous day",
        "The SCREEN DOOR slides open and DICK STEEL",
        "Steel sits",
        "They drink long and well from the beers",
        "And then there's a long beat",
        "The men look at each other",
    ]
    assert [(d.speaker, d.text) for d in patio.shots[1].dialogue] == [
        ("STEEL", "Beer's ready!"), ("BRICK", "Are they cold?"), ("STEEL", "Does a bear crap in the woods?"),
    ]  # fmt: skip
    # Dual dialogue ("BRICK ^"), in a file whose line endings mix CRLF and LF.
    assert patio.shots[-1].dialogue == (
        DialogueLine("STEEL", "Screw retirement."),
        DialogueLine("BRICK", "Screw retirement.", dual=True),
    )
    assert patio.shots[-1].characters == ("STEEL", "BRICK")
    # Parentheticals break a speech into lines; emphasis marks are gone.
    assert [(d.parenthetical, d.text) for d in pool.shots[0].dialogue] == [
        ("", "They're coming out of the woodwork!"), ("pause", "No, everybody we've put away!"),
        ("pause", "Point Blank Sniper?"),
    ]  # fmt: skip
    assert trailer.shots[0].dialogue[0] == DialogueLine(
        "JACK", "Did you know Brick and Steel are retired?", "in Vietnamese, subtitled"
    )
    assert trailer.shots[0].dialogue[1].text == "Then let's retire them.\nPermanently."
    # Centered text is a title card, one per paragraph.
    assert [shot.action for shot in titles.shots] == ["BRICK BRADDOCK\n& DICK STEEL IN", "BRICK & STEEL\nFULL RETIRED"]
    assert mansion.shots[-1].action == "THE END"
    # Characters present: the cast's names in the action, in capitals or capitalized, and who speaks.
    assert patio.shots[0].characters == ("BRICK",)  # "BRICK BRADDOCK, retired police detective"
    assert shack.shots[1].characters == ("BRICK", "STEEL", "COGNITO")
    assert mansion.shots[0].characters == ("HANDSOME MAN",)
    assert "\r" not in all_text(script) and "*" not in all_text(script) and "_" not in all_text(script)


def test_night_shift_exercises_fountain_corners():
    script = parse_screenplay(DATA / "night_shift.fountain")
    assert script.title == "NIGHT SHIFT"
    assert script.title_page["notes"] == "A test script that exercises the corners of Fountain."
    headings = [(s.heading, s.script_number, s.setting, s.location, s.time_of_day) for s in script.scenes]
    assert headings == [
        ("INT. HARBOUR DINER - NIGHT", "1", Setting.INTERIOR, "HARBOUR DINER", "NIGHT"),
        ("EXT. HARBOUR - CONTINUOUS", "", Setting.EXTERIOR, "HARBOUR", "CONTINUOUS"),
        ("FLASHBACK - MARA'S KITCHEN", "", Setting.UNSPECIFIED, "MARA'S KITCHEN", "FLASHBACK"),
        ("INT./EXT. MARA'S CAR - MOVING - LATER", "", Setting.BOTH, "MARA'S CAR - MOVING", "LATER"),
        ("EST. LIGHTHOUSE - DAWN", "", Setting.EXTERIOR, "LIGHTHOUSE", "DAWN"),
        ("I/E TRUCK CAB - DAY", "", Setting.BOTH, "TRUCK CAB", "DAY"),
        ("int. back room - morning", "", Setting.INTERIOR, "back room", "MORNING"),
    ]
    diner, _harbour, flashback, car, lighthouse, _truck, back_room = script.scenes
    assert [s.transition for s in script.scenes] == ["CUT TO:", "", "DISSOLVE TO:", "", "", "", "MATCH CUT TO:"]
    text = all_text(script)
    # Sections, synopses, notes, boneyard and the page break reach no shot; neither does "FADE IN:".
    for gone in ("ACT ONE", "ACT TWO", "closes the diner", "push-in", "flashback here", "===", "FADE IN"):
        assert gone not in text
    assert diner.shots[0].dialogue == (DialogueLine("MARA", "One more hour.", "to herself"),)
    assert [d.speaker for d in diner.shots[1].dialogue] == ["STRANGER", "MARA", "STRANGER", "MARA"]
    assert flashback.shots[0].characters == ("MARA",)  # "A younger Mara…"
    # CLOSE ON starts a shot; a voice-over is heard, not seen; "MARA ^" speaks with the stranger.
    assert [shot.action for shot in car.shots] == [
        "Mara drives. The stranger sleeps in the passenger seat.",
        "CLOSE ON the dashboard clock: 3:17.",
        "SIRENS wail in the distance.",  # forced action: "!SIRENS…"
    ]
    close_on = car.shots[1]
    assert close_on.dialogue == (
        DialogueLine("MARA", "I should have asked his name.", extension="V.O."),
        DialogueLine("STRANGER", "Where are we going?"),
        DialogueLine("MARA", "Somewhere dry.", dual=True),
    )
    assert close_on.characters == ("STRANGER", "MARA")  # on screen for the dual line, not for the voice-over
    assert [(shot.action, [d.speaker for d in shot.dialogue]) for shot in lighthouse.shots] == [
        ("The lighthouse beam sweeps over grey water.", []),
        ("THE END", ["McCLANE"]),  # "> THE END <", then a forced "@McCLANE"
        ("Row, row, row your boat", []),  # lyrics
    ]
    assert back_room.shots[0].action == "Boxes everywhere."
    assert script.characters == ("MARA", "STRANGER", "McCLANE")


def test_notes_and_boneyard_inside_paragraphs_do_not_cut_shots():
    script = parse_screenplay(
        "INT. OFFICE - DAY\n\nHe waits. [[check this timing]] Then leaves.\nHe comes back. /* an aside */ Sits.\n\n"
        "A note that spans [[two\nlines]] in action.\n\nBOB\n(quietly)\nFirst line.\n  \nSecond paragraph.\n",
        "fountain",
    )
    [scene] = script.scenes
    assert [shot.action for shot in scene.shots] == [
        "He waits. Then leaves.\nHe comes back. Sits.",
        "A note that spans\nin action.",
    ]
    assert scene.shots[1].dialogue == (DialogueLine("BOB", "First line.\nSecond paragraph.", "quietly"),)


def test_a_feature_length_script():
    script = feature(pages=120)
    assert len(script.scenes) > 150 and script.shot_count > 500
    parsed = parse_screenplay(script.fountain)
    assert parsed.parser == "fountain"
    assert mismatches(script, parsed) == []
    assert parsed.title == "THE LONG TIDE"
    assert parsed.characters == script.speakers
    assert 80 * 60 < parsed.duration_s < 140 * 60  # a page is about a minute


# ---- the model every parser shares ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("heading", "expected"),
    [
        ("INT. HOUSE - KITCHEN - NIGHT", (Setting.INTERIOR, "HOUSE - KITCHEN", "NIGHT")),
        ("EXT. PARK - NIGHT - CONTINUOUS", (Setting.EXTERIOR, "PARK", "NIGHT - CONTINUOUS")),
        ("INT./EXT. CAR - MOVING - LATER", (Setting.BOTH, "CAR - MOVING", "LATER")),
        ("INT/EXT CAR - DAY", (Setting.BOTH, "CAR", "DAY")),
        ("EXT./INT. BARN - DUSK", (Setting.BOTH, "BARN", "DUSK")),
        ("I/E TRUCK - DAY", (Setting.BOTH, "TRUCK", "DAY")),
        ("EST. CITY SKYLINE - DAWN", (Setting.EXTERIOR, "CITY SKYLINE", "DAWN")),
        ("int. back room - morning", (Setting.INTERIOR, "back room", "MORNING")),
        ("EXT. BEACH -- SUNSET", (Setting.EXTERIOR, "BEACH", "SUNSET")),
        ("EXT. BEACH — MAGIC HOUR", (Setting.EXTERIOR, "BEACH", "MAGIC HOUR")),
        ("INT. DINER - DAY (1985)", (Setting.INTERIOR, "DINER", "DAY (1985)")),
        ("INT. LAB - THE NEXT MORNING", (Setting.INTERIOR, "LAB", "THE NEXT MORNING")),
        ("INT. LAB - A FEW MINUTES LATER", (Setting.INTERIOR, "LAB", "A FEW MINUTES LATER")),
        ("INTERIOR SPACESHIP - BRIDGE", (Setting.INTERIOR, "SPACESHIP - BRIDGE", "")),
        ("INT. T-REX PADDOCK", (Setting.INTERIOR, "T-REX PADDOCK", "")),
        ("EXT. HOUSE - DAY #12A#", (Setting.EXTERIOR, "HOUSE", "DAY")),
        ("UNDERWATER - NIGHT", (Setting.UNSPECIFIED, "UNDERWATER", "NIGHT")),
        ("FLASHBACK - THE HARBOUR OFFICE", (Setting.UNSPECIFIED, "THE HARBOUR OFFICE", "FLASHBACK")),
        ("FLASHBACK - INT. OFFICE - NIGHT", (Setting.INTERIOR, "OFFICE", "FLASHBACK - NIGHT")),
        ("EXT. FLASHBACK ALLEY - DAY", (Setting.EXTERIOR, "FLASHBACK ALLEY", "DAY")),
        ("", (Setting.UNSPECIFIED, "", "")),
    ],
)
def test_headings(heading, expected):
    assert parse_heading(heading) == expected


@pytest.mark.parametrize(
    ("cue", "expected"),
    [
        ("MARA", ("MARA", "")),
        ("MARA (V.O.)", ("MARA", "V.O.")),
        ("MARA (V.O.) (CONT'D)", ("MARA", "V.O., CONT'D")),
        ("BRICK ^", ("BRICK", "")),
        ("@McCLANE", ("McCLANE", "")),
        ("MAN #2 (O.S.)", ("MAN #2", "O.S.")),
    ],
)
def test_character_cues(cue, expected):
    assert split_cue(cue) == expected


def test_shot_lines_start_shots_and_standalone_ones_take_the_next_paragraph():
    script = parse_screenplay(
        "INT. STUDIO - DAY\n\nThe band tunes up.\nCLOSE ON the drummer's hands.\nINSERT - a setlist.\n\n"
        "ANGLE ON THE SINGER\n\nShe taps the microphone.\n\nSINGER\nOne, two.\n\nMARA'S POV\n\nThe crowd.\n\n"
        "1. A wide of the room.\n2. The door opens.\n",
        "fountain",
    )
    assert [shot.action for shot in script.scenes[0].shots] == [
        "The band tunes up.",
        "CLOSE ON the drummer's hands.",
        "INSERT - a setlist.",
        "ANGLE ON THE SINGER\nShe taps the microphone.",
        "MARA'S POV\nThe crowd.",
        "1. A wide of the room.",
        "2. The door opens.",
    ]
    assert script.scenes[0].shots[3].dialogue == (DialogueLine("SINGER", "One, two."),)


def test_dialogue_before_any_action_is_a_shot_and_text_before_any_heading_a_scene():
    script = parse_screenplay("A cold open in the dark.\n\nINT. CAVE - NIGHT\n\nMARA\nHello?\n\nEcho.\n", "fountain")
    first, cave = script.scenes
    assert (first.number, first.heading, first.setting) == (1, "", Setting.UNSPECIFIED)
    assert [shot.action for shot in first.shots] == ["A cold open in the dark."]
    assert [(shot.number, shot.action, len(shot.dialogue)) for shot in cave.shots] == [(1, "", 1), (2, "Echo.", 0)]
    assert cave.number == 2


def test_names_in_lower_case_are_not_characters():
    script = parse_screenplay(
        "INT. ROOM - DAY\n\nWILL\nI hope so.\n\nHOPE\nYou will.\n\nThey will hope. Will nods; so does HOPE.\n",
        "fountain",
    )
    assert script.scenes[0].shots[1].characters == ("WILL", "HOPE")
    assert script.scenes[0].shots[0].characters == ("WILL", "HOPE")  # both speak on screen


def test_durations_come_from_dialogue_words_and_action():
    words = "one two three four five six seven eight nine ten"  # 10 words
    line = DialogueLine("A", words)
    assert estimate_shot_seconds("", [line]) == round(10 / WORDS_PER_SECOND, 1)
    with_paren = DialogueLine("A", words, parenthetical="beat")
    assert estimate_shot_seconds("", [with_paren]) == round(10 / WORDS_PER_SECOND + PARENTHETICAL_S, 1)
    # Dual dialogue overlaps: the second line adds only what it lasts beyond the first.
    dual = DialogueLine("B", words + " eleven twelve thirteen fourteen fifteen", dual=True)
    assert estimate_shot_seconds("", [line, dual]) == round(15 / WORDS_PER_SECOND, 1)
    # Action: a beat per sentence, or the page-a-minute time of long lines.
    assert action_seconds("He turns. She runs. The door slams.") > action_seconds("He turns.")
    assert action_seconds("x" * 600) > action_seconds("x" * 60)
    # Clamped.
    assert estimate_shot_seconds("", []) == MIN_SHOT_S
    assert estimate_shot_seconds("Boom.", []) == MIN_SHOT_S
    assert estimate_shot_seconds("", [DialogueLine("A", "word " * 400)]) == MAX_SHOT_S
    script = parse_screenplay("INT. ROOM - DAY\n\nShe waits.\n\nMARA\n" + words + "\n", "fountain")
    shot = script.scenes[0].shots[0]
    assert shot.duration_s == estimate_shot_seconds(shot.action, shot.dialogue)
    assert script.duration_s == script.scenes[0].duration_s == shot.duration_s


def test_bad_input_is_named():
    with pytest.raises(InvalidArgument) as error:
        parse_screenplay("INT. ROOM - DAY", format="pdf")
    assert error.value.field == "format" and "fountain" in error.value.rule
    with pytest.raises(InvalidArgument, match="screenplay: is empty"):
        parse_screenplay(" \n\n ")
    with pytest.raises(InvalidArgument, match="not UTF-8"):
        parse_screenplay(b"INT. CAF\xe9 - DAY\n\nCoffee.\n")
    with pytest.raises(NotFound):
        parse_screenplay(DATA / "no_such_script.fountain")
    with pytest.raises(InvalidArgument, match="not a file"):
        parse_screenplay(DATA)
    with pytest.raises(InvalidArgument, match="at most"):
        parse_screenplay("x" * (16 * 1024 * 1024 + 1))


def test_utf8_with_a_byte_order_mark():
    script = parse_screenplay("\ufeffINT. CAFÉ - DAY\n\nZoë orders.\n".encode())
    assert script.scenes[0].location == "CAFÉ"

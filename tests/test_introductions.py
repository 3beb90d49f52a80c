"""Elements described as the screenplay describes them, on scripts written by other tools."""

from __future__ import annotations

from milimo.storyboard.introductions import DESCRIPTION_CHARS, character_introduction, location_description
from milimo.storyboard.parse import parse_fdx, parse_fountain
from milimo.storyboard.screenplay import Screenplay
from tests.shared_data import SHARED_DATA, needs_shared_data


def brick_and_steel() -> Screenplay:
    return parse_fountain((SHARED_DATA / "fountain" / "brick_and_steel.fountain").read_text())


@needs_shared_data
def test_a_character_is_the_sentence_that_introduces_them_in_capitals():
    script = brick_and_steel()
    assert character_introduction(script, "BRICK") == (
        "But BRICK BRADDOCK, retired police detective, is sitting quietly, contemplating -- something."
    )
    assert character_introduction(script, "STEEL").startswith("The SCREEN DOOR slides open and DICK STEEL, his former")
    assert character_introduction(script, "MINION") == ""  # only ever speaks: the script never describes him


@needs_shared_data
def test_a_place_is_its_setting_time_and_the_opening_of_its_first_scene():
    patio = location_description(brick_and_steel(), "BRICK'S PATIO")
    assert patio == "Exterior, day. A gorgeous day. The sun is shining."
    fdx = parse_fdx((SHARED_DATA / "fdx" / "TestFDX-FI.fdx").read_bytes())
    assert location_description(fdx, "Radio Studio").startswith("Interior. We are in a TV station")
    assert location_description(fdx, "nowhere") == ""


def test_a_long_introduction_is_cut_at_a_word():
    rambling = "MARA, " + "a pilot who has seen every storm of the strait, " * 12 + "waits."
    script = parse_fountain(f"INT. CABIN - NIGHT\n\n{rambling}\n\nMARA\nLate again.\n")
    described = character_introduction(script, "MARA")
    kept = described.removesuffix("…")
    assert len(described) <= DESCRIPTION_CHARS and kept != described
    assert rambling.startswith(kept) and rambling[len(kept)] == " "  # cut between words

"""The element matcher: each signal on its own, the threshold, the order of matches and signals, and the words
that must not match (lower-case common words, names inside other words)."""

from __future__ import annotations

import pytest

from milimo.storyboard.matcher import THRESHOLD, WEIGHTS, ElementFacts, ShotFacts, match_shot, stem

MARA = ElementFacts("el-mara", "character", "Mara", "@Mara", "")
MARA_QUINN = ElementFacts("el-quinn", "character", "Mara Quinn", "@MaraQuinn", "")
DINER = ElementFacts("el-diner", "location", "Harbour Diner", "@diner", "")
LIGHTHOUSE = ElementFacts("el-light", "location", "Lighthouse", "@lighthouse", "")


def shot(
    action: str = "",
    *,
    heading: str = "",
    location: str = "",
    description: str = "",
    dialogue: tuple[tuple[str, str], ...] = (),
    characters: tuple[str, ...] = (),
) -> ShotFacts:
    return ShotFacts("shot-1", heading, location, action, description, dialogue, characters)


def signals(shot_facts: ShotFacts, element: ElementFacts) -> list[tuple[str, float, str]]:
    """The signals that fired for `element`, whatever their weight."""
    matches = match_shot(shot_facts, [element], threshold=0.0)
    return [(s.signal, s.weight, s.evidence) for match in matches for s in match.signals]


# ---- each signal on its own ---------------------------------------------------------------------------------


def test_exact_name_is_a_character_present_ignoring_case():
    assert signals(shot(characters=("MARA",)), MARA) == [("exact_name", 1.0, "MARA is in the shot")]


@pytest.mark.parametrize(
    ("where", "facts"),
    [
        ("the action", shot("@mara walks in.")),
        ("the dialogue", shot(dialogue=(("ROSA", "Ask @MARA."),))),
        ("the description", shot(description="close on @Mara's hands")),
    ],
)
def test_the_trigger_is_found_in_action_dialogue_or_description_in_any_case(where, facts):
    assert signals(facts, MARA) == [("trigger", 0.95, f"@Mara in {where}")]


def test_a_trigger_is_a_whole_mention():
    for text in ("write to me@mara.com", "@Maravilla waves", "@Mara-Quinn waves"):
        assert signals(shot(description=text), MARA) == [], text


def test_heading_location_is_the_whole_name_in_the_location():
    facts = shot(heading="EXT. LIGHTHOUSE - NIGHT", location="LIGHTHOUSE")
    assert signals(facts, LIGHTHOUSE) == [
        ("heading_location", 0.85, '"LIGHTHOUSE" in the heading "EXT. LIGHTHOUSE - NIGHT"')
    ]


def test_one_word_of_a_location_in_the_heading_is_a_partial_name():
    facts = shot(heading="INT. DINER - NIGHT", location="DINER")
    assert signals(facts, DINER) == [("partial_name", 0.8, '"DINER" (of "Harbour Diner") in the heading')]


def test_a_place_named_after_a_character_does_not_put_them_in_the_shot():
    assert signals(shot(heading="INT. MARA'S APARTMENT - DAY", location="MARA'S APARTMENT"), MARA) == []


@pytest.mark.parametrize(
    ("facts", "evidence"),
    [
        (shot("Mara sits at the counter."), '"Mara" (of "Mara Quinn") in the action'),
        (shot("QUINN sits at the counter."), '"QUINN" (of "Mara Quinn") in the action'),
        (shot(characters=("MARA",)), 'MARA (of "Mara Quinn") is in the shot'),
    ],
)
def test_partial_name_is_a_significant_word_of_the_name(facts, evidence):
    assert signals(facts, MARA_QUINN) == [("partial_name", 0.8, evidence)]


def test_titles_and_short_words_are_not_partial_names():
    captain = ElementFacts("el-cap", "character", "Captain Al Reyes", "@reyes", "")
    assert signals(shot("The Captain salutes. Al nods."), captain) == []


def test_name_in_action():
    assert signals(shot("The door opens: Mara."), MARA) == [("name_in_action", 0.75, '"Mara" in the action')]


def test_name_in_dialogue_is_someone_mentioning_it():
    facts = shot(dialogue=(("ROSA", "Where is Mara Quinn tonight?"),))
    assert signals(facts, MARA_QUINN) == [("name_in_dialogue", 0.7, 'ROSA says "Mara Quinn"')]


def test_description_overlap_is_half_the_overlap_coefficient_of_content_words():
    lantern = ElementFacts("el-lamp", "prop", "Storm Lamp", "@lamp", "A brass lantern with a cracked green glass")
    # description: brass, lantern, cracked, green, glass (5); shot: lanterns, glass, shelf, dusty (4); shared 2
    facts = shot("Dusty lanterns of glass on a shelf.")
    [(name, weight, evidence)] = signals(facts, lantern)
    assert (name, weight) == ("description_overlap", round(0.5 * 2 / 4, 3))
    assert evidence == "the description shares glass, lantern (2 words)"


def test_one_shared_word_of_a_longer_description_is_chance():
    lantern = ElementFacts("el-lamp", "prop", "Storm Lamp", "@lamp", "A brass lantern with a cracked green glass")
    assert signals(shot("Rain on the glass."), lantern) == []


# ---- score, threshold and order -----------------------------------------------------------------------------


def test_weak_overlap_is_dropped_and_strong_overlap_kept():
    coat = ElementFacts("el-coat", "prop", "Coat", "@coat", "long red wool coat with brass buttons and a torn collar")
    weak = shot("A red door with brass handles, a wet street, neon signs, puddles, rain and traffic.")
    strong = shot("Brass buttons on red wool, a torn collar.")
    assert signals(weak, coat)[0][1] < THRESHOLD and match_shot(weak, [coat]) == []
    [kept] = match_shot(strong, [coat])
    assert kept.score >= THRESHOLD and kept.signals[0].signal == "description_overlap"


def test_the_score_is_the_strongest_signal_and_signals_come_strongest_first():
    facts = shot(
        "MARA slides into the booth. @mara",
        heading="INT. HARBOUR DINER - NIGHT",
        location="HARBOUR DINER",
        dialogue=(("ROSA", "Coffee, Mara?"),),
        characters=("MARA", "ROSA"),
    )
    [match] = match_shot(facts, [MARA])
    assert match.score == 1.0 and (match.element_id, match.element_name) == ("el-mara", "Mara")
    assert [s.signal for s in match.signals] == ["exact_name", "trigger", "name_in_action", "name_in_dialogue"]
    assert [s.weight for s in match.signals] == [WEIGHTS[s.signal] for s in match.signals]


def test_matches_come_best_first():
    facts = shot(
        "Mara sits.",
        heading="INT. HARBOUR DINER - NIGHT",
        location="HARBOUR DINER",
        dialogue=(("ROSA", "Hi."),),
        characters=("ROSA",),
    )
    rosa = ElementFacts("el-rosa", "character", "Rosa", "@rosa", "")
    absent = ElementFacts("el-ned", "character", "Ned", "@ned", "")
    found = match_shot(facts, [MARA, absent, DINER, rosa])
    assert [(m.element_id, m.score) for m in found] == [("el-rosa", 1.0), ("el-diner", 0.85), ("el-mara", 0.75)]


# ---- what must not match, and what must ---------------------------------------------------------------------


def test_lower_case_common_words_are_not_names():
    will = ElementFacts("el-will", "character", "Will", "@will", "")
    hope = ElementFacts("el-hope", "character", "Hope", "@hope", "")
    facts = shot("She will not give up hope.", dialogue=(("ROSA", "I hope you will stay."),))
    assert match_shot(facts, [will, hope]) == []
    assert [m.element_id for m in match_shot(shot("Will hands Hope the keys."), [will, hope])] == ["el-will", "el-hope"]


def test_props_and_locations_are_found_in_any_case():
    lantern = ElementFacts("el-lamp", "prop", "Lantern", "@lamp", "")
    assert signals(shot("She lifts the lantern."), lantern) == [("name_in_action", 0.75, '"lantern" in the action')]


@pytest.mark.parametrize("action", ["Mara's hands shake.", "MARA, soaked, at the door.", "They wait for Mara."])
def test_punctuation_around_a_name(action):
    assert [s[0] for s in signals(shot(action), MARA)] == ["name_in_action"]


def test_a_name_inside_another_word_is_not_the_name():
    assert signals(shot("O'Mara and Maraschino cherries."), MARA) == []


def test_light_stemming_brings_forms_of_a_word_together():
    assert stem("running") == stem("runs") == stem("run")
    assert stem("coats") == stem("coat") and stem("dresses") == stem("dress") and stem("stories") == stem("story")

"""Final Draft (.fdx) screenplays: a real file written by Fade In, the Final Draft constructs (dual dialogue,
styled text runs, shots, script notes, acts), a generated feature-length script, and hostile XML."""

from __future__ import annotations

import pytest

from milimo.errors import InvalidArgument
from milimo.storyboard import Setting, detect_format, parse_screenplay
from milimo.storyboard.screenplay import DialogueLine
from tests.data.screenplays.feature import feature, mismatches
from tests.shared_data import SHARED_DATA, needs_shared_data

FADE_IN = SHARED_DATA / "fdx" / "TestFDX-FI.fdx"


def fdx(content: str, title_page: str = "") -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="no" ?>\n'
        f'<FinalDraft DocumentType="Script" Template="No" Version="5"><Content>{content}</Content>'
        f"{title_page}</FinalDraft>"
    )


@needs_shared_data
def test_a_file_written_by_fade_in():
    script = parse_screenplay(FADE_IN)
    assert script.parser == "fdx"
    assert script.title == "FDX Test Script"
    assert (script.title_page["credit"], script.title_page["author"]) == ("Written by", "Ian")
    studio, store = script.scenes
    assert (studio.number, studio.script_number, studio.heading) == (1, "1", "INT. RADIO STUDIO")
    assert (studio.setting, studio.location, studio.time_of_day) == (Setting.INTERIOR, "RADIO STUDIO", "")
    assert (store.script_number, store.setting, store.location) == ("2", Setting.EXTERIOR, "OUTSIDE THE FOOD STORE")
    assert (studio.transition, store.transition) == ("CUT TO:", "FADE TO BLACK")
    assert [shot.action for shot in studio.shots] == [
        "We are in a TV station listening to the announcer on the other site of the glass.",
        "Dave is at the coffee machine.",
    ]
    assert studio.shots[0].dialogue == (
        DialogueLine("DJ", "Hey everyone, this is some music that sounds kinda terrible.", "bored"),
    )
    assert studio.shots[1].dialogue == (
        DialogueLine("DAVE", "Why do we pay him?"),
        DialogueLine("JIM", "Because he helps us test this screenplay.", extension="O.S."),
    )
    assert studio.shots[1].characters == ("DAVE",)  # Jim is off screen
    assert store.shots[0].characters == ("KAY",)  # "Kay is looking at the posters"
    assert script.characters == ("DJ", "DAVE", "JIM", "KAY")


def test_final_draft_constructs():
    content = (
        '<Paragraph Type="Scene Heading" Number="4A"><Text>EXT. ROOFTOP - NIGHT</Text></Paragraph>'
        '<Paragraph Type="New Act"><Text>ACT TWO</Text></Paragraph>'
        '<Paragraph Type="Action"><Text Style="Bold">Wind. </Text><Text>ANA grips the rail.</Text>'
        "<ScriptNote><Paragraph><Text>Needs a stunt double.</Text></Paragraph></ScriptNote></Paragraph>"
        "<Paragraph><DualDialogue>"
        '<Paragraph Type="Character"><Text>ANA</Text></Paragraph>'
        '<Paragraph Type="Dialogue"><Text>Now!</Text></Paragraph>'
        '<Paragraph Type="Character"><Text>DEV</Text></Paragraph>'
        '<Paragraph Type="Parenthetical"><Text>(shouting)</Text></Paragraph>'
        '<Paragraph Type="Dialogue"><Text>Not yet!</Text></Paragraph>'
        "</DualDialogue></Paragraph>"
        '<Paragraph Type="Shot"><Text>ANGLE ON THE STREET BELOW</Text></Paragraph>'
        '<Paragraph Type="Action"><Text>A crowd gathers.</Text></Paragraph>'
        '<Paragraph Type="Action"/>'
        '<Paragraph Type="Character"><Text>DEV (V.O.)</Text></Paragraph>'
        '<Paragraph Type="Dialogue"><Text>We were too late &amp; we knew it.</Text></Paragraph>'
        '<Paragraph Type="Transition"><Text>FADE OUT.</Text></Paragraph>'
    )
    [scene] = parse_screenplay(fdx(content)).scenes
    assert (scene.script_number, scene.transition) == ("4A", "FADE OUT.")
    roof, street = scene.shots
    assert roof.action == "Wind. ANA grips the rail."  # styled runs joined; the script note is not text
    assert roof.dialogue == (
        DialogueLine("ANA", "Now!"),
        DialogueLine("DEV", "Not yet!", "shouting", dual=True),
    )
    assert roof.characters == ("ANA", "DEV")
    # A Shot paragraph takes the action after it as its description.
    assert street.action == "ANGLE ON THE STREET BELOW\nA crowd gathers."
    assert street.dialogue == (DialogueLine("DEV", "We were too late & we knew it.", extension="V.O."),)
    assert street.characters == ()
    assert "ACT TWO" not in roof.action + street.action


def test_a_feature_length_script():
    script = feature(pages=120)
    parsed = parse_screenplay(script.fdx)
    assert parsed.parser == "fdx"
    assert mismatches(script, parsed) == []
    assert [scene.script_number for scene in parsed.scenes] == [str(n) for n in range(1, len(script.scenes) + 1)]
    assert parsed.title == "THE LONG TIDE"


@needs_shared_data
def test_final_draft_is_recognized():
    data = FADE_IN.read_bytes()
    assert detect_format(data) == "fdx"
    assert detect_format(b"\xef\xbb\xbf\n  " + data) == "fdx"  # after a byte order mark and blank lines
    assert detect_format("<FinalDraft Version='1'><Content/></FinalDraft>") == "fdx"
    assert detect_format("INT. HOUSE - DAY", ".fdx") == "fdx"
    assert parse_screenplay(data.decode()).parser == "fdx"  # as text, with its encoding declaration


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<FinalDraft><Content><Paragraph Type="Action"><Text>&lol9;</Text></Paragraph></Content></FinalDraft>"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE FinalDraft [<!ENTITY secret SYSTEM "file:///etc/hostname">]>
<FinalDraft><Content><Paragraph Type="Action"><Text>&secret;</Text></Paragraph></Content></FinalDraft>"""


@pytest.mark.parametrize("xml", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["billion-laughs", "external-entity"])
def test_entities_are_refused(xml):
    with pytest.raises(InvalidArgument) as error:
        parse_screenplay(xml.encode(), "fdx")
    assert error.value.field == "screenplay"
    assert "must not declare entities" in error.value.rule


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        ("<FinalDraft><Content><Paragraph Type='Action'><Text>Unclosed", "not well-formed"),
        ("<html><body>Not a script</body></html>", "root element is <FinalDraft>, not <html>"),
        ("<FinalDraft Version='1'/>", "has no <Content>"),
    ],
)
def test_what_is_not_final_draft_is_named(xml, message):
    with pytest.raises(InvalidArgument, match=message):
        parse_screenplay(xml, "fdx")

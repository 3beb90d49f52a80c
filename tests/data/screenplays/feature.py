"""A feature-length screenplay made from a seed, written out as Fountain, Final Draft XML and free-form
text, with what a parser must find in it. Too large to commit and the same every time.

A page is 55 printed lines (action wraps at 60 characters, dialogue at 35), so `feature(pages=120)` is
as long as a two-hour film. The Fountain version also carries a title page, sections, synopses, notes
(inline and on their own), boneyard, dual dialogue and forced transitions, which must not change the
scenes and shots; the free-form version runs headings into their first line and has no dual dialogue.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from milimo.storyboard import Screenplay

LINES_PER_PAGE = 55
CAST = ("ANA", "DEV", "MARGOT", "OKAFOR", "LI WEI", "THE COLONEL")
PREFIXES = ("INT.", "EXT.", "INT./EXT.", "I/E", "EST.")
PLACES = ("HARBOUR DINER", "LIGHTHOUSE", "MARGOT'S CAR", "POLICE STATION - CELLS", "ROOFTOP", "TRAIN YARD")
TIMES = ("DAY", "NIGHT", "DAWN", "DUSK", "CONTINUOUS", "MOMENTS LATER", "LATER")
TRANSITIONS = ("CUT TO:", "DISSOLVE TO:", "SMASH CUT TO:")
PARENTHETICALS = ("beat", "quietly", "to herself", "not looking up")
VERBS = ("crosses the room", "looks out at the rain", "checks a battered watch", "sets down a cup", "waits")
LINES = (
    "We should not be here.",
    "Then why did you come back?",
    "Because someone has to finish this.",
    "Keep your voice down.",
    "I counted every one of them, twice.",
    "Nobody leaves until the tide turns.",
)


@dataclass
class Speech:
    speaker: str
    parts: list[tuple[str, str]]  # (parenthetical, text)
    dual: bool = False


@dataclass
class ShotSpec:
    action: str
    speeches: list[Speech] = field(default_factory=list)


@dataclass
class SceneSpec:
    heading: str
    shots: list[ShotSpec]
    transition: str = ""


@dataclass(frozen=True)
class FeatureScript:
    title: str
    scenes: list[SceneSpec]
    fountain: str
    fdx: bytes
    text: str

    @property
    def shot_count(self) -> int:
        return sum(len(scene.shots) for scene in self.scenes)

    @property
    def speakers(self) -> tuple[str, ...]:
        seen = dict.fromkeys(s.speaker for sc in self.scenes for sh in sc.shots for s in sh.speeches)
        return tuple(seen)

    @property
    def dialogue_count(self) -> int:
        return sum(len(s.parts) for sc in self.scenes for sh in sc.shots for s in sh.speeches)


def feature(pages: int = 120, seed: int = 7) -> FeatureScript:
    rng = random.Random(seed)
    scenes: list[SceneSpec] = []
    printed = 0
    while printed < pages * LINES_PER_PAGE:
        scene = _scene(rng)
        scenes.append(scene)
        printed += _printed_lines(scene)
    title = "THE LONG TIDE"
    return FeatureScript(title, scenes, _fountain(title, scenes, rng), _fdx(title, scenes), _text(title, scenes))


def _scene(rng: random.Random) -> SceneSpec:
    heading = f"{rng.choice(PREFIXES)} {rng.choice(PLACES)} - {rng.choice(TIMES)}"
    shots = []
    for _ in range(rng.randint(2, 5)):
        actors = rng.sample(CAST, 2)
        action = " ".join(
            f"{name if rng.random() < 0.5 else name.title()} {rng.choice(VERBS)}." for name in actors
        ) + rng.choice(("", " The light flickers.", " Outside, a horn sounds twice and the gulls scatter."))
        speeches = []
        for _ in range(rng.choice((0, 1, 2, 2, 3))):
            # A parenthetical starts a new part, so only the first part can go without one.
            parts = [(rng.choice(PARENTHETICALS) if rng.random() < 0.3 else "", rng.choice(LINES))]
            if rng.random() < 0.2:
                parts.append((rng.choice(PARENTHETICALS), rng.choice(LINES)))
            speeches.append(Speech(rng.choice(actors), parts))
        if len(speeches) >= 2 and speeches[-1].speaker != speeches[-2].speaker and rng.random() < 0.15:
            speeches[-1].dual = True
        shots.append(ShotSpec(action, speeches))
    return SceneSpec(heading, shots, rng.choice(("", "", *TRANSITIONS)))


def _printed_lines(scene: SceneSpec) -> int:
    lines = 2 + (2 if scene.transition else 0)
    for shot in scene.shots:
        lines += math.ceil(len(shot.action) / 60) + 1
        for speech in shot.speeches:
            lines += 2 + sum((1 if paren else 0) + math.ceil(len(text) / 35) for paren, text in speech.parts)
    return lines


def _fountain(title: str, scenes: list[SceneSpec], rng: random.Random) -> str:
    out = [f"Title: **{title}**", "Credit: Written by", "Author: Feature Generator", "Draft date: 1/1/2026", ""]
    for number, scene in enumerate(scenes, start=1):
        if number % 25 == 1:
            out += [f"# ACT {number // 25 + 1}", ""]
        out += [scene.heading, ""]
        if number % 7 == 0:
            out += [f"= Scene {number} turns the story.", ""]
        for i, shot in enumerate(scene.shots):
            action = shot.action
            if i == 1 and number % 3 == 0:
                words = action.split(" ")
                action = " ".join([*words[:2], "[[check the blocking]]", *words[2:]])
            out += [action, ""]
            if i == 0 and number % 5 == 0:
                out += ["[[A note standing on its own.]]", ""]
            for speech in shot.speeches:
                out.append(f"{speech.speaker} ^" if speech.dual else speech.speaker)
                for paren, text in speech.parts:
                    out += [f"({paren})", text] if paren else [text]
                out.append("")
            if i == 0 and number % 11 == 0:
                out += ["/* An older version of this moment,", "cut in the second draft. */", ""]
        if scene.transition:
            forced = rng.random() < 0.3
            out += [f"> {scene.transition}" if forced else scene.transition, ""]
    return "\n".join(out)


def _fdx(title: str, scenes: list[SceneSpec]) -> bytes:
    def paragraph(kind: str, text: str, **attributes: str) -> str:
        extra = "".join(f' {key}="{escape(value)}"' for key, value in attributes.items())
        if kind == "Action" and ". " in text:  # styled runs: one paragraph, several <Text> elements
            first, rest = text.split(". ", 1)
            runs = f'<Text Style="Bold">{escape(first)}. </Text><Text>{escape(rest)}</Text>'
        else:
            runs = f"<Text>{escape(text)}</Text>"
        return f'<Paragraph Type="{kind}"{extra}>{runs}</Paragraph>'

    def speech(s: Speech) -> list[str]:
        out = [paragraph("Character", s.speaker)]
        for paren, text in s.parts:
            if paren:
                out.append(paragraph("Parenthetical", f"({paren})"))
            out.append(paragraph("Dialogue", text))
        return out

    body: list[str] = []
    for number, scene in enumerate(scenes, start=1):
        body.append(paragraph("Scene Heading", scene.heading, Number=str(number)))
        for shot in scene.shots:
            body.append(paragraph("Action", shot.action))
            speeches = shot.speeches
            if speeches and speeches[-1].dual:
                for s in speeches[:-2]:
                    body += speech(s)
                pair = speech(speeches[-2]) + speech(speeches[-1])
                body.append(f"<Paragraph><DualDialogue>{''.join(pair)}</DualDialogue></Paragraph>")
            else:
                for s in speeches:
                    body += speech(s)
        if scene.transition:
            body.append(paragraph("Transition", scene.transition))
    title_line = f'<Paragraph Alignment="Center"><Text>{escape(title)}</Text></Paragraph>'
    xml = (
        '<?xml version="1.0" encoding="UTF-8" standalone="no" ?>\n'
        f'<FinalDraft DocumentType="Script" Template="No" Version="5"><Content>{"".join(body)}</Content>'
        f"<TitlePage><Content>{title_line}</Content></TitlePage></FinalDraft>"
    )
    return xml.encode("utf-8")


def _text(title: str, scenes: list[SceneSpec]) -> str:
    out = [f"Title: {title}", ""]
    for scene in scenes:
        out.append(scene.heading)  # free-form: the first action line follows the heading directly
        for i, shot in enumerate(scene.shots):
            out += ([shot.action] if i == 0 else ["", shot.action]) + [""]
            for speech in shot.speeches:
                out.append(speech.speaker)
                for paren, text in speech.parts:
                    out += [f"({paren})", text] if paren else [text]
                out.append("")
        if scene.transition:
            out += [scene.transition, ""]
    return "\n".join(out)


def mismatches(script: FeatureScript, screenplay: Screenplay, *, dual: bool = True) -> list[str]:
    """Where `screenplay` departs from the scenes and shots `script` was made of (empty: none)."""
    found = []
    if len(screenplay.scenes) != len(script.scenes):
        found.append(f"{len(screenplay.scenes)} scenes, not {len(script.scenes)}")
    for number, (spec, scene) in enumerate(zip(script.scenes, screenplay.scenes, strict=False), start=1):
        got = (scene.heading, scene.transition, len(scene.shots))
        want = (spec.heading, spec.transition, len(spec.shots))
        if got != want:
            found.append(f"scene {number}: {got}, not {want}")
            continue
        for shot_spec, shot in zip(spec.shots, scene.shots, strict=True):
            lines = [
                (s.speaker, paren, text, dual and s.dual and i == 0)
                for s in shot_spec.speeches
                for i, (paren, text) in enumerate(s.parts)
            ]
            got_shot = (shot.action, [(d.speaker, d.parenthetical, d.text, d.dual) for d in shot.dialogue])
            if got_shot != (shot_spec.action, lines):
                found.append(f"scene {number} shot {shot.number}: {got_shot}, not {(shot_spec.action, lines)}")
    return found

"""The screenplay as a storyboard sees it: scenes of shots, each shot with its action, its dialogue, the
characters in it and how long it should last. Every input format (Fountain, Final Draft, free-form text,
an LLM's JSON) ends up here.

Parsers describe a script as a stream of elements (`Heading`, `Action`, `Speech`, `Transition`,
`Synopsis`); `outline` cuts that stream into scenes and shots, and `assemble` finishes them into a
`Screenplay`: it numbers them, reads each heading, finds the characters present and estimates durations.

How shots are cut inside a scene:

- Each action paragraph starts a shot, and the dialogue that follows it belongs to that shot. Dialogue
  before any action in a scene is a shot of its own.
- A line inside an action paragraph that begins with a shot cue ("ANGLE ON", "CLOSE ON", "INSERT",
  "MARA'S POV", "WIDE SHOT", a numbered shot such as "3." or "Shot 3") starts a new shot there.
- A shot line that stands alone as a title ("ANGLE ON MARA", a Final Draft "Shot" paragraph) starts a
  shot and the action paragraph after it describes that shot instead of starting another one.
- Transitions end the scene they follow; synopses describe the scene they follow; notes, boneyard,
  sections and page breaks never reach a shot.

Characters present in a shot: those who speak in it on screen (a voice-over, off-screen, phone or radio
voice is heard, not seen), and every speaking character of the script whose name appears in the action
written in capitals ("MARA") or capitalized ("Mara"); a lower-case "will" or "hope" is never a name.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from milimo.storyboard.duration import estimate_shot_seconds

Parser = Literal["fountain", "fdx", "text", "llm"]


class Setting(StrEnum):
    """Where a scene plays, from its heading's prefix (INT., EXT., INT./EXT.)."""

    INTERIOR = "interior"
    EXTERIOR = "exterior"
    BOTH = "both"
    UNSPECIFIED = "unspecified"  # a heading without a prefix, such as a forced ".FLASHBACK"


# ---- the model ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DialogueLine:
    """One spoken line. A speech broken by parentheticals is several lines of the same speaker, each with
    the parenthetical (without its brackets) that comes before it. `dual`: spoken at the same time as the
    line before it (Fountain's `^`, Final Draft's DualDialogue)."""

    speaker: str  # the name as the script writes it, without extensions: "MARA"
    text: str
    parenthetical: str = ""  # "to herself"
    extension: str = ""  # "V.O.", "O.S.", "CONT'D"
    dual: bool = False


@dataclass(frozen=True, slots=True)
class Shot:
    number: int  # 1-based within its scene
    action: str
    dialogue: tuple[DialogueLine, ...]
    characters: tuple[str, ...]  # present in the shot, in order of appearance
    duration_s: float  # suggested, from `milimo.storyboard.duration`


@dataclass(frozen=True, slots=True)
class Scene:
    number: int  # 1-based order in the script
    heading: str  # as written: "INT. HARBOUR DINER - NIGHT"; "" for text before the first heading
    setting: Setting
    location: str  # "HARBOUR DINER"
    time_of_day: str  # upper case, "" when the heading gives none: "NIGHT", "MOMENTS LATER"
    shots: tuple[Shot, ...]
    script_number: str = ""  # the scene number printed in the script ("12A"), if it has one
    transition: str = ""  # the transition out of this scene: "CUT TO:"
    synopsis: str = ""

    @property
    def duration_s(self) -> float:
        return round(sum(shot.duration_s for shot in self.shots), 1)


@dataclass(frozen=True, slots=True)
class Screenplay:
    title: str
    scenes: tuple[Scene, ...]
    parser: Parser  # which parser produced this structure
    title_page: Mapping[str, str] = field(default_factory=dict)  # lower-case keys: "title", "author"…
    warnings: tuple[str, ...] = ()  # e.g. why the LLM mode fell back to the rule parser

    @property
    def characters(self) -> tuple[str, ...]:
        """Every speaking character, in order of first line."""
        return _cast(line for scene in self.scenes for shot in scene.shots for line in shot.dialogue)

    @property
    def shot_count(self) -> int:
        return sum(len(scene.shots) for scene in self.scenes)

    @property
    def duration_s(self) -> float:
        return round(sum(scene.duration_s for scene in self.scenes), 1)


# ---- the element stream parsers produce -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Heading:
    text: str
    script_number: str = ""


@dataclass(frozen=True, slots=True)
class Action:
    text: str
    shot_line: bool = False  # an explicit shot title (Final Draft's "Shot" paragraph)


@dataclass(frozen=True, slots=True)
class Speech:
    """A character's speech: (parenthetical, text) parts in order; `cue` is the character line as written,
    extensions included ("MARA (V.O.)")."""

    cue: str
    parts: tuple[tuple[str, str], ...]
    dual: bool = False


@dataclass(frozen=True, slots=True)
class Transition:
    text: str


@dataclass(frozen=True, slots=True)
class Synopsis:
    text: str


ScriptElement = Heading | Action | Speech | Transition | Synopsis


# ---- reading headings, cues and shot lines --------------------------------------------------------

_PREFIX = re.compile(
    r"^(?P<prefix>INT\.?\s*/\s*EXT|EXT\.?\s*/\s*INT|I\s*/\s*E|E\s*/\s*I|INTERIOR|EXTERIOR|INT|EXT|EST)"
    r"(?:\.\s*|\s+)(?P<rest>.*)$",
    re.IGNORECASE,
)
_BOTH = {"INT/EXT", "EXT/INT", "I/E", "E/I"}
_EXTERIOR = {"EXT", "EXTERIOR", "EST"}
_SEGMENT_SEPARATOR = re.compile(r"\s+[-–—]+\s+|\s*--\s*")
_TIMES_OF_DAY = {
    "DAY", "NIGHT", "MORNING", "AFTERNOON", "EVENING", "DAWN", "DUSK", "SUNRISE", "SUNSET", "NOON",
    "MIDNIGHT", "TWILIGHT", "MAGIC HOUR", "GOLDEN HOUR", "CONTINUOUS", "SAME", "SAME TIME", "SIMULTANEOUS",
    "LATE NIGHT", "EARLY MORNING", "LATE AFTERNOON", "EARLY EVENING", "PRE-DAWN", "PREDAWN", "DAYTIME",
    "NIGHTTIME", "LATER", "FLASHBACK", "PRESENT", "PRESENT DAY",
}  # fmt: skip
_LEADING_TIMES = {"FLASHBACK", "FLASH FORWARD", "FLASHFORWARD", "DREAM", "DREAM SEQUENCE", "MONTAGE", "INTERCUT",
                  "BACK TO PRESENT", "PRESENT DAY", "FANTASY", "NIGHTMARE"}  # fmt: skip
_TIME_PATTERN = re.compile(r"^(?:.*\bLATER|(?:THE )?NEXT (?:DAY|MORNING|NIGHT|EVENING)|(?:DAY|NIGHT) \d+)$")
_SCENE_NUMBER = re.compile(r"\s*#[^#\s]+#\s*$")


def parse_heading(heading: str) -> tuple[Setting, str, str]:
    """The setting, location and time of day of a scene heading.

    The time of day is the trailing " - " parts that name one ("NIGHT", "CONTINUOUS", "MOMENTS LATER");
    everything between the prefix and them is the location ("HOUSE - KITCHEN").
    """
    text = _SCENE_NUMBER.sub("", heading).strip()
    # "FLASHBACK - INT. OFFICE - NIGHT": a leading marker of when the scene plays, not part of the place.
    leading: list[str] = []
    while (parts := _SEGMENT_SEPARATOR.split(text, maxsplit=1)) and len(parts) == 2:
        if parts[0].strip().upper().rstrip(".") not in _LEADING_TIMES:
            break
        leading.append(parts[0].strip().upper().rstrip("."))
        text = parts[1].strip()
    setting = Setting.UNSPECIFIED
    match = _PREFIX.match(text)
    if match:
        prefix = re.sub(r"[\s.]", "", match["prefix"]).upper()
        setting = Setting.BOTH if prefix in _BOTH else Setting.EXTERIOR if prefix in _EXTERIOR else Setting.INTERIOR
        text = match["rest"].strip()
    segments = [s.strip() for s in _SEGMENT_SEPARATOR.split(text) if s.strip()]
    times: list[str] = []
    while len(segments) > 1 and _is_time_of_day(segments[-1]):
        times.insert(0, segments.pop().upper())
    return setting, " - ".join(segments), " - ".join(leading + times)


def _is_time_of_day(segment: str) -> bool:
    words = re.sub(r"\([^)]*\)", "", segment).strip().upper().rstrip(".")
    return words in _TIMES_OF_DAY or bool(_TIME_PATTERN.match(words))


_CUE_EXTENSION = re.compile(r"\s*\(([^()]*)\)\s*$")
# Extensions of a voice that is heard but not seen (compared without dots and spaces).
_OFFSCREEN = {"VO", "OS", "OC", "OFF", "OFFSCREEN", "OFFCAMERA", "PRELAP", "PRE-LAP", "FILTERED", "PHONE",
              "ONPHONE", "OVERPHONE", "RADIO", "ONRADIO", "OVERRADIO", "INTERCOM", "TV", "ONTV"}  # fmt: skip


def split_cue(cue: str) -> tuple[str, str]:
    """A character cue's name and extensions: "MARA (V.O.) (CONT'D)" -> ("MARA", "V.O., CONT'D")."""
    name = cue.strip().removesuffix("^").strip().removeprefix("@")
    extensions: list[str] = []
    while match := _CUE_EXTENSION.search(name):
        extensions.insert(0, match[1].strip())
        name = name[: match.start()].rstrip()
    return name, ", ".join(e for e in extensions if e)


def is_offscreen(extension: str) -> bool:
    return any(re.sub(r"[\s.]", "", part).upper() in _OFFSCREEN for part in extension.split(","))


_SHOT_CUE = re.compile(
    r"^(?:(?:ANGLE|CLOSE|CLOSER|WIDE|WIDER|TIGHT|PAN|TRACK|TRACKING|PUSH|PULL|MOVING|FAVOR|FAVORING|"
    r"HIGH ANGLE|LOW ANGLE|REVERSE ANGLE|REVERSE) ON\b"
    r"|(?:EXTREME )?CLOSE[- ]?UP\b|(?:ECU|CU|MCU|OTS)\b"
    r"|(?:MEDIUM|WIDE|LONG|ESTABLISHING|TRACKING|AERIAL|TWO|THREE|OVERHEAD|INSERT|MASTER|DOLLY|CRANE|POV) SHOT\b"
    r"|INSERT\b|BACK TO SCENE\b|OVER THE SHOULDER\b|MONTAGE\b|SERIES OF SHOTS\b|FREEZE FRAME\b|SPLIT SCREEN\b"
    r"|(?:[A-Z][A-Z.'’ -]*['’]S )?POV\b"
    r"|[Ss][Hh][Oo][Tt]\s+\d+[A-Z]?\b|\d{1,3}[A-Z]?[.)]\s)"
)


def is_shot_cue(line: str) -> bool:
    """Whether `line` opens a new shot: a camera direction in capitals or a numbered shot."""
    return bool(_SHOT_CUE.match(line.strip()))


def _is_shot_title(text: str) -> bool:
    """A shot line that stands alone and waits for its description: "ANGLE ON MARA", "2. WIDE"."""
    line = text.strip()
    return "\n" not in line and is_shot_cue(line) and not any(c.islower() for c in line) and line[-1] not in ".!?"


# ---- elements -> scenes and shots -----------------------------------------------------------------


@dataclass
class ShotDraft:
    action: str = ""
    dialogue: list[DialogueLine] = field(default_factory=list)
    characters: list[str] = field(default_factory=list)  # named by the parser beyond what `assemble` finds
    awaits_description: bool = False


@dataclass
class SceneDraft:
    heading: str = ""
    script_number: str = ""
    shots: list[ShotDraft] = field(default_factory=list)
    transition: str = ""
    synopsis: str = ""


def _dialogue_lines(speech: Speech) -> list[DialogueLine]:
    name, extension = split_cue(speech.cue)
    lines = [
        DialogueLine(name, text.strip(), parenthetical.strip().removeprefix("(").removesuffix(")").strip(), extension)
        for parenthetical, text in speech.parts
        if text.strip() or parenthetical.strip()
    ]
    if speech.dual and lines:
        lines[0] = DialogueLine(name, lines[0].text, lines[0].parenthetical, extension, dual=True)
    return lines


def outline(elements: Iterable[ScriptElement]) -> list[SceneDraft]:
    """Cut a parser's element stream into scenes and shots (the rules are in this module's docstring)."""
    scenes: list[SceneDraft] = []
    for element in elements:
        match element:
            case Heading(text, script_number):
                scenes.append(SceneDraft(text.strip(), script_number.strip()))
            case Action(text, shot_line):
                scene = _open_scene(scenes)
                for chunk in _split_at_shot_cues(text):
                    last = scene.shots[-1] if scene.shots else None
                    if last is not None and last.awaits_description:
                        last.action = f"{last.action}\n{chunk}"
                        last.awaits_description = False
                    else:
                        scene.shots.append(ShotDraft(chunk, awaits_description=shot_line or _is_shot_title(chunk)))
            case Speech():
                lines = _dialogue_lines(element)
                if lines:
                    scene = _open_scene(scenes)
                    if not scene.shots:
                        scene.shots.append(ShotDraft())
                    scene.shots[-1].dialogue.extend(lines)
                    scene.shots[-1].awaits_description = False
            case Transition(text):
                if scenes:
                    scenes[-1].transition = text.strip()
            case Synopsis(text):
                if scenes:
                    scenes[-1].synopsis = " ".join(filter(None, (scenes[-1].synopsis, text.strip())))
    return [scene for scene in scenes if scene.shots or scene.heading]


def _open_scene(scenes: list[SceneDraft]) -> SceneDraft:
    if not scenes:
        scenes.append(SceneDraft())  # text before the first heading: a cold open without a heading
    return scenes[-1]


def _split_at_shot_cues(text: str) -> list[str]:
    chunks: list[list[str]] = []
    for line in text.strip().splitlines():
        if not chunks or (line.strip() and is_shot_cue(line)):
            chunks.append([])
        chunks[-1].append(line.rstrip())
    return ["\n".join(chunk).strip() for chunk in chunks if "".join(chunk).strip()]


def assemble(
    drafts: Sequence[SceneDraft],
    *,
    parser: Parser,
    title_page: Mapping[str, str] | None = None,
    warnings: Sequence[str] = (),
) -> Screenplay:
    """Finish drafts into a Screenplay: numbers, headings read, characters present, durations."""
    title_page = dict(title_page or {})
    cast = _cast(line for scene in drafts for shot in scene.shots for line in shot.dialogue)
    find_names = _NameFinder(cast)
    scenes = []
    for scene_number, draft in enumerate(drafts, start=1):
        setting, location, time_of_day = parse_heading(draft.heading)
        shots = tuple(
            Shot(
                number=shot_number,
                action=shot.action,
                dialogue=tuple(shot.dialogue),
                characters=_present(shot, find_names),
                duration_s=estimate_shot_seconds(shot.action, shot.dialogue),
            )
            for shot_number, shot in enumerate(draft.shots, start=1)
        )
        scenes.append(
            Scene(
                number=scene_number,
                heading=draft.heading,
                setting=setting,
                location=location,
                time_of_day=time_of_day,
                shots=shots,
                script_number=draft.script_number,
                transition=draft.transition,
                synopsis=draft.synopsis,
            )
        )
    title = " ".join(line.strip() for line in title_page.get("title", "").splitlines() if line.strip())
    return Screenplay(title, tuple(scenes), parser, title_page, tuple(warnings))


def _cast(lines: Iterable[DialogueLine]) -> tuple[str, ...]:
    """Speakers in order of first line, once each whatever their capitalization."""
    seen: dict[str, str] = {}
    for line in lines:
        seen.setdefault(line.speaker.upper(), line.speaker)
    return tuple(seen.values())


class _NameFinder:
    """Finds the cast's names in action text, written in capitals or capitalized, never in lower case."""

    def __init__(self, cast: Sequence[str]) -> None:
        self._canonical: dict[str, str] = {}
        for name in cast:
            for variant in (name, name.upper(), string.capwords(name)):
                self._canonical.setdefault(variant, name)
        # Longest first, so that "HANDSOME MAN" wins over a cast member called "MAN".
        variants = sorted(self._canonical, key=len, reverse=True)
        alternation = "|".join(re.escape(v) for v in variants)
        self._pattern = re.compile(rf"(?<![\w'’])(?:{alternation})(?!\w)") if variants else None

    def __call__(self, text: str) -> list[str]:
        if self._pattern is None or not text:
            return []
        return [self._canonical[match] for match in self._pattern.findall(text)]


def _present(shot: ShotDraft, find_names: _NameFinder) -> tuple[str, ...]:
    names: dict[str, str] = {}
    on_screen = [line.speaker for line in shot.dialogue if not is_offscreen(line.extension)]
    for name in (*find_names(shot.action), *on_screen, *shot.characters):
        names.setdefault(name.upper(), name)
    return tuple(names.values())

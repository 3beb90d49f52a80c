"""Which elements (recurring characters, props, locations) appear in a storyboard shot, with a score and the
evidence for it.

Each element is tested with weighted signals; a match's score is its strongest signal's weight, and it reports
every signal that fired, strongest first, each with the words that matched. Matches under `THRESHOLD` are dropped.

- exact_name (1.0): the name is, ignoring case, a character present in the shot.
- trigger (0.95): the trigger word ("@Mara", see `TRIGGER_MENTION`) in the action, dialogue or description.
- heading_location (0.85): the whole name in the scene heading's location, ignoring case ("Harbour Diner" and
  "Diner" in "HARBOUR DINER"). Not for characters: "MARA'S APARTMENT" does not put Mara in the shot.
- partial_name (0.8): a significant word of a multi-word name (3 letters or more, not a stopword or a title
  such as "Captain") is a present character or a word of one, is written capitalised or in capitals in the
  action ("Mara" for "Mara Quinn"), or, for props and locations, is a word of the heading's location (so
  "INT. DINER - NIGHT" suggests "Harbour Diner", less surely than the whole name would).
- name_in_action (0.75): the whole name in the action (or in the shot's description, when it has its own). For
  characters each word the name capitalises must be capitalised there too, so "they will hope" never finds "Will"
  or "Hope"; props and locations are often common nouns ("Lantern"), so for them any case counts.
- name_in_dialogue (0.7): the whole name in a line of dialogue (someone mentions it), by the same rule.
- description_overlap (up to 0.5): 0.5 × the overlap coefficient |D ∩ S| / min(|D|, |S|) of the content words
  (stopwords and words under 3 letters removed, light suffix stemming) of the element's description (D) and of
  the shot's heading, action, dialogue and description (S); it needs at least two shared words (one, when the
  description has one), as a single shared word is as likely chance.

Words are bounded by anything but letters, digits, apostrophes and "@" before them ("O'Mara" is not "Mara", and
"@Mara" is a trigger, not the name) and by anything but letters and digits after them ("Mara's", "MARA,"). Each
element's patterns are compiled once and cached, and each shot's words are collected once, so a board of a thousand
shots and fifty elements matches in a fraction of a second.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

THRESHOLD = 0.4
WEIGHTS: dict[str, float] = {
    "exact_name": 1.0,
    "trigger": 0.95,
    "heading_location": 0.85,
    "partial_name": 0.8,
    "name_in_action": 0.75,
    "name_in_dialogue": 0.7,
    "description_overlap": 0.5,  # the most it can weigh (see the module)
}

# A trigger mention as an Element's trigger is written ("@" then letters, digits, "_" or "-"), not inside an
# e-mail address, ending on a letter or digit so "@Mara-" and "@Mara's" mention "@Mara".
TRIGGER_MENTION = re.compile(r"(?<![\w@])@[\w-]*\w")

_WORD = re.compile(r"(?<![\w'’@])\w+")
_BEFORE, _AFTER = r"(?<![\w'’@])", r"(?!\w)"
MIN_WORD = 3

# Word lists read best as text (hence the noqa).
STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have having he
    her here hers herself him himself his how i if in into is it its itself just me more most my myself no nor not
    now of off on once only or other our ours ourselves out over own same she should so some such than that the
    their theirs them themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself yourselves
    int ext day night continuous later moments cont""".split()  # noqa: SIM905
)
# Words of a name that say little about who is meant: "Captain Reyes" is not every captain.
TITLES = frozenset(
    """mr mrs ms miss dr doctor sir madam lady lord captain detective officer agent professor sergeant uncle aunt
    mother father old young little big""".split()  # noqa: SIM905
)
_NOT_NAME_WORDS = STOPWORDS | TITLES


@dataclass(frozen=True)
class ElementFacts:
    id: str
    kind: str  # "character" | "prop" | "location"
    name: str
    trigger: str
    description: str


@dataclass(frozen=True)
class ShotFacts:
    id: str
    heading: str  # "INT. HARBOUR DINER - NIGHT"
    location: str  # "HARBOUR DINER"
    action: str
    description: str  # the shot's own description or prompt
    dialogue: tuple[tuple[str, str], ...]  # (speaker, text)
    characters: tuple[str, ...]  # present in the shot


@dataclass(frozen=True)
class Signal:
    signal: str  # a key of WEIGHTS
    weight: float
    evidence: str  # the words that matched, e.g. "MARA is in the shot"


@dataclass(frozen=True)
class Match:
    element_id: str
    element_name: str
    score: float  # the strongest signal's weight
    signals: tuple[Signal, ...]  # strongest first


def match_shot(shot: ShotFacts, elements: Sequence[ElementFacts], threshold: float = THRESHOLD) -> list[Match]:
    """The elements that appear in `shot` with a score of at least `threshold`, best first (ties: the one with
    more signals, then the order given)."""
    seen = _ShotWords.of(shot)
    matches = []
    for element in elements:
        signals = _compiled(element).signals(seen)
        if signals and signals[0].weight >= threshold:
            matches.append(Match(element.id, element.name, signals[0].weight, signals))
    matches.sort(key=lambda match: (-match.score, -len(match.signals)))
    return matches


# ---- a shot's words, collected once ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _ShotWords:
    shot: ShotFacts
    visual: str  # the action, and the description when it says something else (it is what a shot's prompt is made of)
    characters: dict[str, str]  # casefolded name -> as written
    character_words: dict[str, str]  # casefolded word of a character's name -> the character
    action_words: frozenset[str]  # casefolded, any case
    capitalised_action_words: dict[str, str]  # casefolded -> as written ("Mara", "MARA")
    dialogue_words: frozenset[str]
    location_words: frozenset[str]
    mentions: dict[str, str]  # casefolded trigger mention -> where it is ("the action")
    stems: frozenset[str]

    @classmethod
    def of(cls, shot: ShotFacts) -> _ShotWords:
        characters = {name.casefold(): name for name in shot.characters}
        character_words = {}
        for name in shot.characters:
            for word in _WORD.findall(name):
                character_words.setdefault(word.casefold(), name)
        visual = shot.action if shot.description in ("", shot.action) else f"{shot.action}\n{shot.description}"
        action = _WORD.findall(visual)
        capitalised = {}
        for word in action:
            if word[0].isupper():
                capitalised.setdefault(word.casefold(), word)
        spoken = " ".join(text for _, text in shot.dialogue)
        mentions = {}
        for place, text in (
            ("the action", shot.action),
            ("the dialogue", spoken),
            ("the description", shot.description),
        ):
            for mention in TRIGGER_MENTION.finditer(text):
                mentions.setdefault(mention.group().casefold(), place)
        return cls(
            shot=shot,
            visual=visual,
            characters=characters,
            character_words=character_words,
            action_words=frozenset(word.casefold() for word in action),
            capitalised_action_words=capitalised,
            dialogue_words=frozenset(word.casefold() for word in _WORD.findall(spoken)),
            location_words=frozenset(word.casefold() for word in _WORD.findall(shot.location)),
            mentions=mentions,
            stems=frozenset(content_words(" ".join((shot.heading, shot.action, spoken, shot.description)))),
        )


# ---- an element's tests, compiled once ----------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _compiled(element: ElementFacts) -> _ElementTests:
    return _ElementTests(element)


class _ElementTests:
    def __init__(self, element: ElementFacts) -> None:
        self.element = element
        words = element.name.split()
        self.name_key = " ".join(words).casefold()
        self.first_word = next(iter(_WORD.findall(words[0])), "").casefold() if words else ""  # for a quick "no"
        self.pattern = (
            re.compile(_BEFORE + r"\s+".join(re.escape(word) for word in words) + _AFTER, re.IGNORECASE)
            if self.first_word
            else None
        )
        # Which words of the name must be capitalised in the text: for characters, those the name capitalises.
        self.capitals = tuple(element.kind == "character" and word[0].isupper() for word in words)
        self.partial_words = (
            tuple(
                dict.fromkeys(
                    word.casefold()
                    for word in _WORD.findall(element.name)
                    if len(word) >= MIN_WORD and word.casefold() not in _NOT_NAME_WORDS
                )
            )
            if len(words) > 1
            else ()
        )
        self.trigger = element.trigger.casefold()
        self.words = content_words(element.description)
        self.stems = frozenset(self.words)
        self.is_character = element.kind == "character"

    def signals(self, seen: _ShotWords) -> tuple[Signal, ...]:
        found = [
            signal
            for signal in (
                self._exact_name(seen),
                self._trigger(seen),
                self._heading_location(seen),
                self._partial_name(seen),
                self._name_in_action(seen),
                self._name_in_dialogue(seen),
                self._description_overlap(seen),
            )
            if signal is not None
        ]
        return tuple(sorted(found, key=lambda signal: -signal.weight))

    def _exact_name(self, seen: _ShotWords) -> Signal | None:
        character = seen.characters.get(self.name_key)
        return None if character is None else _signal("exact_name", f"{character} is in the shot")

    def _trigger(self, seen: _ShotWords) -> Signal | None:
        place = seen.mentions.get(self.trigger) if self.trigger else None
        return None if place is None else _signal("trigger", f"{self.element.trigger} in {place}")

    def _heading_location(self, seen: _ShotWords) -> Signal | None:
        if self.is_character or self.first_word not in seen.location_words:
            return None
        found = self._find(seen.shot.location, any_case=True)
        if found is None:
            return None
        return _signal("heading_location", f'"{found}" in the heading "{seen.shot.heading or seen.shot.location}"')

    def _partial_name(self, seen: _ShotWords) -> Signal | None:
        name = self.element.name
        for word in self.partial_words:
            if word in seen.character_words:
                return _signal("partial_name", f'{seen.character_words[word]} (of "{name}") is in the shot')
            if word in seen.capitalised_action_words:
                return _signal("partial_name", f'"{seen.capitalised_action_words[word]}" (of "{name}") in the action')
            if not self.is_character and word in seen.location_words:
                return _signal("partial_name", f'"{word.upper()}" (of "{name}") in the heading')
        return None

    def _name_in_action(self, seen: _ShotWords) -> Signal | None:
        if self.first_word not in seen.action_words:
            return None
        found = self._find(seen.visual)
        return None if found is None else _signal("name_in_action", f'"{found}" in the action')

    def _name_in_dialogue(self, seen: _ShotWords) -> Signal | None:
        if self.first_word not in seen.dialogue_words:
            return None
        for speaker, text in seen.shot.dialogue:
            found = self._find(text)
            if found is not None:
                return _signal("name_in_dialogue", f'{speaker} says "{found}"')
        return None

    def _description_overlap(self, seen: _ShotWords) -> Signal | None:
        shared = self.stems & seen.stems
        if not shared or len(shared) < min(2, len(self.stems)):
            return None
        weight = round(WEIGHTS["description_overlap"] * len(shared) / min(len(self.stems), len(seen.stems)), 3)
        words = ", ".join(sorted(self.words[stem] for stem in shared))
        return Signal("description_overlap", weight, f"the description shares {words} ({len(shared)} words)")

    def _find(self, text: str, *, any_case: bool = False) -> str | None:
        """The first occurrence of the whole name in `text` that is capitalised as the name asks (see the module)."""
        if self.pattern is None:
            return None
        for found in self.pattern.finditer(text):
            if any_case or all(
                word[0].isupper() for word, capital in zip(found.group().split(), self.capitals, strict=True) if capital
            ):
                return found.group()
        return None


def _signal(name: str, evidence: str) -> Signal:
    return Signal(name, WEIGHTS[name], evidence)


# ---- content words -----------------------------------------------------------------------------------------


def content_words(text: str) -> dict[str, str]:
    """The words of `text` that carry meaning (no stopwords, none under 3 letters), by stem, as first written."""
    words: dict[str, str] = {}
    for word in _WORD.findall(text):
        folded = word.casefold()
        if len(folded) >= MIN_WORD and folded.isalpha() and folded not in STOPWORDS:
            words.setdefault(stem(folded), word)
    return words


_SUFFIXES = (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("ly", ""), ("s", ""))


def stem(word: str) -> str:
    """A light stemmer: "coats" and "coat", "running" and "runs", "harbours" and "harbour" meet. Both sides of a
    comparison are stemmed alike, so what matters is that forms of a word meet, not that stems are real words."""
    for suffix, replacement in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= MIN_WORD and not word.endswith("ss"):
            word = word[: -len(suffix)] + replacement
            if len(word) > MIN_WORD and word[-1] == word[-2] and word[-1] not in "lsz":
                word = word[:-1]  # "running" -> "runn" -> "run"
            return word.removesuffix("e")
    return word.removesuffix("e")

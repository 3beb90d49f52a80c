"""Storyboards from screenplays: parse a script (Fountain, Final Draft, free-form text, or with an LLM)
into scenes and shots. `parse_screenplay` is the entry point; docs/screenplay.md explains the choices."""

from milimo.storyboard.parse import FORMATS, detect_format, parse_screenplay
from milimo.storyboard.screenplay import DialogueLine, Scene, Screenplay, Setting, Shot

__all__ = ["FORMATS", "DialogueLine", "Scene", "Screenplay", "Setting", "Shot", "detect_format", "parse_screenplay"]

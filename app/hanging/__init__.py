"""Hanging protocols as rules (Qt-free): which layout, which series in which viewport, which window.

``rules`` holds the rule model and the JSON file format (documented in docs/hanging_protocols.md),
``facts`` what a rule is matched against (a study, its series, images and priors), ``choose`` the
matching and the plan the viewer applies. The defaults ship as ``defaults.json`` beside this file;
the user's file (``config/hanging_protocols.json`` in the data dir) is tried first.
"""

from app.hanging.choose import Cell, Plan, choose, hang, plan
from app.hanging.facts import ImageFacts, SeriesFacts, StudyFacts
from app.hanging.rules import (Match, Protocol, ProtocolFileError, ViewportRule, default_protocols,
                               load_protocols, protocols_for, save_user_protocol)

__all__ = ["Cell", "ImageFacts", "Match", "Plan", "Protocol", "ProtocolFileError", "SeriesFacts", "StudyFacts",
           "ViewportRule", "choose", "default_protocols", "hang", "load_protocols", "plan", "protocols_for",
           "save_user_protocol"]

"""AI results in (Qt-free): triage SRs, TID 1500 measurement reports and SEGs from AI tools (IHE AI Results),
read tolerantly into suspected findings, kept with the radiologist's accept/reject decisions in ai.sqlite."""

from app.ai.codes import CRITICAL_FINDINGS, KnownFinding
from app.ai.model import AiFinding, AiObject, AiResultError, Decision
from app.ai.settings import AiSettings, load_ai_settings
from app.ai.store import AiStore, ai_db_path

__all__ = ["AiFinding", "AiObject", "AiResultError", "AiSettings", "AiStore", "CRITICAL_FINDINGS", "Decision",
           "KnownFinding", "ai_db_path", "load_ai_settings"]

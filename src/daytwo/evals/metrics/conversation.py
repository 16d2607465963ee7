"""Conversation metrics: judges that read a whole thread of ``messages``.

A case's ``messages`` is the conversation as a list of ``{"role", "content"}``
dicts (the chat completions shape). Both scores are in [0, 1], higher better.

    SessionCompleteness(judge).score(messages=[
        {"role": "user", "content": "Book a table for two and tell me the dress code."},
        {"role": "assistant", "content": "Booked for 8 pm."},
    ]).value  # 0.5: the dress code question went unanswered
"""

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel

from daytwo.evals.metric import MetricError, ScoreResult, require
from daytwo.evals.metrics.judges import LlmJudge

SESSION_COMPLETENESS_PROMPT = """Read the conversation between a user and an assistant.
List every distinct intention the user expressed (a question, a request, a task), across all
turns, and decide for each whether the assistant satisfied it by the end of the conversation.
An intention the user withdrew does not count. A partial or promised-but-not-delivered answer
is not satisfied.

Conversation:
{transcript}"""

USER_FRUSTRATION_PROMPT = """Read the conversation between a user and an assistant and look
for signs that the user became frustrated: repeating or rephrasing the same request,
complaints, sarcasm, giving up, capital letters or insults, corrections of the assistant.
Quote the turn number and the evidence for each sign, then give the overall level:
"none", "mild", "moderate" or "severe".

Conversation:
{transcript}"""

# How a frustration level maps to a score, 1 meaning no frustration.
FRUSTRATION_SCORES = {"none": 1.0, "mild": 2 / 3, "moderate": 1 / 3, "severe": 0.0}


class Intention(BaseModel):
    intention: str
    satisfied: bool
    reason: str


class IntentionList(BaseModel):
    intentions: list[Intention]


class FrustrationSign(BaseModel):
    turn: int
    evidence: str


class FrustrationVerdict(BaseModel):
    signs: list[FrustrationSign]
    reason: str
    level: Literal["none", "mild", "moderate", "severe"]


class SessionCompleteness(LlmJudge):
    """Score the share of the user's intentions the assistant satisfied over the thread."""

    name = "session_completeness"

    async def ascore(self, *, messages: Sequence[Any] | None = None, **_: Any) -> ScoreResult:
        """Have the judge list the user's intentions and whether each was met."""
        require(self, messages=messages)
        prompt = SESSION_COMPLETENESS_PROMPT.format(transcript=transcript(self.name, messages))
        intentions = (await self.ask(prompt, IntentionList)).parsed.intentions
        if not intentions:
            return ScoreResult(self.name, 1.0, "the user expressed no intention to satisfy")
        unmet = [item for item in intentions if not item.satisfied]
        value = (len(intentions) - len(unmet)) / len(intentions)
        reason = f"{len(intentions) - len(unmet)} of {len(intentions)} user intentions satisfied"
        if unmet:
            reason += "; unmet: " + "; ".join(f"{i.intention!r} ({i.reason})" for i in unmet)
        details = {"intentions": [item.model_dump() for item in intentions]}
        return ScoreResult(self.name, value, reason, details)


class UserFrustration(LlmJudge):
    """Score the absence of user frustration: 1 none, 2/3 mild, 1/3 moderate, 0 severe."""

    name = "user_frustration"

    async def ascore(self, *, messages: Sequence[Any] | None = None, **_: Any) -> ScoreResult:
        """Have the judge look for signs of frustration in the user's turns."""
        require(self, messages=messages)
        prompt = USER_FRUSTRATION_PROMPT.format(transcript=transcript(self.name, messages))
        verdict = (await self.ask(prompt, FrustrationVerdict)).parsed
        reason = f"frustration {verdict.level}: {verdict.reason}"
        if verdict.signs:
            signs = "; ".join(f"turn {sign.turn}: {sign.evidence}" for sign in verdict.signs)
            reason += f" ({signs})"
        details = verdict.model_dump()
        return ScoreResult(self.name, FRUSTRATION_SCORES[verdict.level], reason, details)


def transcript(metric_name: str, messages: Sequence[Any] | None) -> str:
    """Return the thread as numbered turns ("[1] user: ..."); reject what is not a thread."""
    lines = []
    for turn, message in enumerate(messages or (), 1):
        if not isinstance(message, dict) or "role" not in message:
            raise MetricError(
                f"{metric_name}: message {turn} is not a {{'role', 'content'}} dict: {message!r}"
            )
        lines.append(f"[{turn}] {message['role']}: {_content(message.get('content'))}")
    if not lines:
        raise MetricError(f"{metric_name} needs messages; the case's thread is empty")
    return "\n".join(lines)


def _content(content: Any) -> str:
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return "" if content is None else str(content)

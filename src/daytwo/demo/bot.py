"""The demo's chatbot: answers questions about daytwo from daytwo's own documentation.

A small but honest retrieval-augmented app, traced the way a user would trace
theirs: BM25 retrieval (``bm25s``) over the documentation's sections, a tool
that looks up a setting's default when a question names one, and generation
by any OpenAI-compatible model (the local one in ``daytwo demo``) through the
``openai`` client and daytwo's OpenAI integration. Each turn of a conversation
is a trace; the turns of one conversation share a thread.
"""

import re
from dataclasses import dataclass
from typing import Any

import daytwo
from daytwo.demo.corpus import Passage

SYSTEM = (
    "You answer questions about daytwo, an LLM observability tool, using only the notes "
    "below. Answer in one or two short sentences. If the notes do not say, answer that "
    "you do not know.\n\nNotes:\n{notes}"
)
_SETTING = re.compile(r"\bDAYTWO_[A-Z_]+\b")


@dataclass(frozen=True, slots=True)
class Turn:
    """One answer, with what it was based on."""

    question: str
    answer: str
    passages: list[Passage]
    trace_id: str | None
    setting: dict[str, Any] | None


class DocsBot:
    """Answers questions over passages with a chat model; remembers each thread's turns."""

    def __init__(self, client: Any, model: str, passages: list[Passage], top_k: int = 3) -> None:
        import bm25s

        self.client = client
        self.model = model
        self.passages = passages
        self.top_k = top_k
        self.histories: dict[str, list[dict[str, str]]] = {}
        self._retriever = bm25s.BM25()
        corpus = [f"{p.title}\n{p.text}" for p in passages]
        self._retriever.index(_tokenize(corpus), show_progress=False)

    def answer(self, question: str, *, thread_id: str, user_id: str | None = None) -> Turn:
        """Answer one question as the next turn of the conversation ``thread_id``, as a trace."""
        with daytwo.trace(
            "docs chat", input=question, thread_id=thread_id, user_id=user_id, tags=["demo"]
        ) as turn:
            text, passages, setting = self._turn(question, self.histories.setdefault(thread_id, []))
            turn.update(output=text)
        return Turn(question, text, passages, turn.trace_id, setting)

    def answer_alone(self, question: str) -> Turn:
        """Answer a question outside any conversation, as a span of the current trace.

        An experiment calls this, so that each item's trace holds the retrieval,
        the tool and the model call, with their tokens and cost.
        """
        with daytwo.span("docs chat", kind="chain", input=question) as span:
            text, passages, setting = self._turn(question, [])
            span.update(output=text)
        return Turn(question, text, passages, None, setting)

    def _turn(
        self, question: str, history: list[dict[str, str]]
    ) -> tuple[str, list[Passage], dict[str, Any] | None]:
        found = _SETTING.search(question)
        setting = self.lookup_setting(found.group()) if found else None
        passages = self.search(question)
        return self.generate(question, passages, setting, history), passages, setting

    @daytwo.track(kind="retrieval", name="search docs")
    def search(self, query: str) -> list[Passage]:
        """Return the passages that best match ``query`` by BM25."""
        import bm25s

        limit = min(self.top_k, len(self.passages))
        indexes, scores = self._retriever.retrieve(
            bm25s.tokenize([query], stopwords="en", show_progress=False),
            k=limit,
            show_progress=False,
        )
        found = [
            (self.passages[int(i)], float(s)) for i, s in zip(indexes[0], scores[0], strict=True)
        ]
        daytwo.update_current_span(
            retrieval={
                "query": query,
                "documents": [
                    {"id": p.id, "content": p.text, "score": score, "metadata": {"title": p.title}}
                    for p, score in found
                ],
            }
        )
        return [passage for passage, _ in found]

    @daytwo.track(kind="tool", name="lookup_setting")
    def lookup_setting(self, variable: str) -> dict[str, Any]:
        """Return the default of a ``DAYTWO_*`` setting, read from daytwo's own code."""
        from daytwo.config import Settings
        from daytwo.sdk.config import SdkConfig

        name = variable.removeprefix("DAYTWO_").lower()
        for source, fields in (
            ("server", Settings.model_fields),
            ("sdk", SdkConfig._field_defaults),
        ):
            if name in fields:
                value = fields[name].default if source == "server" else fields[name]
                return {"setting": variable, "default": _plain(value), "used_by": source}
        return {"setting": variable, "error": "no such setting"}

    def generate(
        self,
        question: str,
        passages: list[Passage],
        setting: dict[str, Any] | None,
        history: list[dict[str, str]],
    ) -> str:
        """Ask the model, with the notes, the conversation's earlier turns and the question.

        The question and the answer are added to ``history``.
        """
        notes = "\n\n".join(f"[{p.title}]\n{p.text[:700]}" for p in passages)
        if setting is not None:
            notes += f"\n\n[setting lookup]\n{setting}"
        messages = [
            {"role": "system", "content": SYSTEM.format(notes=notes)},
            *history[-4:],
            {"role": "user", "content": question},
        ]
        reply = self.client.chat.completions.create(
            model=self.model, messages=messages, max_tokens=120, temperature=0.2
        )
        text = (reply.choices[0].message.content or "").strip()
        history += [{"role": "user", "content": question}, {"role": "assistant", "content": text}]
        return text


def _tokenize(texts: list[str]) -> Any:
    import bm25s

    return bm25s.tokenize(texts, stopwords="en", show_progress=False)


def _plain(value: Any) -> Any:
    return value if isinstance(value, (str, int, float, bool)) or value is None else str(value)

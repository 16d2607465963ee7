"""The demo's conversations, and the reference answers its experiment checks against.

Each answer below is stated in daytwo's documentation, so a retriever that
finds the right section gives a model what it needs; ``key`` is the phrase a
correct answer must contain.
"""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Question:
    text: str
    expected: str
    key: str


@dataclass(frozen=True, slots=True)
class Conversation:
    thread_id: str
    user_id: str
    questions: tuple[Question, ...]


CONVERSATIONS = (
    Conversation(
        "demo-getting-started",
        "ana",
        (
            Question(
                "On which port does daytwo serve by default?",
                "daytwo serve listens on http://127.0.0.1:7700 by default.",
                "7700",
            ),
            Question(
                "Which databases can it store traces in?",
                "SQLite by default, and PostgreSQL.",
                "PostgreSQL",
            ),
            Question(
                "What is the default of DAYTWO_MAX_PENDING_SPANS?",
                "50,000 spans may wait to be committed before ingest answers 503.",
                "50000",
            ),
        ),
    ),
    Conversation(
        "demo-sdk",
        "ben",
        (
            Question(
                "How do I trace a function with the SDK?",
                "Decorate it with @daytwo.track; each call becomes a span.",
                "track",
            ),
            Question(
                "What happens to spans when the server is unreachable?",
                "Batches go to an on-disk spool and are replayed when the server answers again.",
                "spool",
            ),
        ),
    ),
    Conversation(
        "demo-cost",
        "chen",
        (
            Question(
                "How is the cost of an llm span computed?",
                "From its model and token usage, with the bundled genai-prices data.",
                "token",
            ),
            Question(
                "Can I override the price of a model?",
                "Yes, with a price override set through the API or a file.",
                "override",
            ),
        ),
    ),
)


def all_questions() -> list[Question]:
    """Return every question of every conversation, in order."""
    return [question for conversation in CONVERSATIONS for question in conversation.questions]

"""Deterministic filler text for generated spans: questions, documents, answers.

Every function draws from the `random.Random` it is given, so one seed always
yields the same text. The vocabulary is a small support and commerce domain,
enough for payloads to look and compress like real prompts rather than noise.
"""

import random

_SUBJECTS = (
    "the order",
    "my subscription",
    "the invoice",
    "the refund",
    "the shipping label",
    "the warranty",
    "my account",
    "the API key",
    "the billing address",
    "the export job",
    "the team plan",
    "the webhook",
)
_VERBS = (
    "was charged twice for",
    "cannot find",
    "needs to change",
    "did not receive",
    "wants to cancel",
    "is asking about",
    "has a problem with",
    "wants to upgrade",
)
# fmt: off
_WORDS = (
    "account", "address", "after", "agent", "amount", "annual", "api", "approve", "archive",
    "available", "balance", "before", "billing", "business", "cancel", "card", "carrier",
    "change", "charge", "checkout", "contact", "contract", "credit", "customer", "dashboard",
    "date", "days", "delivery", "discount", "document", "download", "email", "enterprise",
    "error", "export", "failed", "fee", "field", "form", "invoice", "issue", "item", "key",
    "label", "limit", "login", "method", "monthly", "notice", "order", "owner", "package", "paid",
    "partial", "password", "payment", "pending", "plan", "policy", "price", "process", "product",
    "profile", "receipt", "record", "refund", "region", "renewal", "report", "request", "reset",
    "return", "review", "seat", "settings", "shipment", "sign", "status", "store", "subscription",
    "support", "tax", "team", "ticket", "tier", "total", "tracking", "transfer", "trial",
    "update", "usage", "user", "verify", "warehouse", "warranty", "webhook", "within",
    "workspace",
)
# fmt: on
_GLUE = ("the", "a", "to", "for", "of", "and", "is", "in", "on", "with", "your", "this")


def sentence(rng: random.Random, words: int) -> str:
    """Return a sentence of about ``words`` words, capitalised and ending with a full stop."""
    picked = [rng.choice(_GLUE) if rng.random() < 0.3 else rng.choice(_WORDS) for _ in range(words)]
    text = " ".join(picked)
    return text[0].upper() + text[1:] + "."


def paragraph(rng: random.Random, chars: int) -> str:
    """Return sentences adding up to about ``chars`` characters."""
    parts: list[str] = []
    length = 0
    while length < chars:
        part = sentence(rng, rng.randint(6, 16))
        parts.append(part)
        length += len(part) + 1
    return " ".join(parts)


def question(rng: random.Random) -> str:
    """Return a customer's question."""
    subject, verb = rng.choice(_SUBJECTS), rng.choice(_VERBS)
    detail = sentence(rng, rng.randint(8, 18))
    return f"Customer {verb} {subject}. {detail} What should I do?"


def identifier(rng: random.Random, prefix: str, digits: int = 6) -> str:
    """Return an id such as ``ord_048213``."""
    return f"{prefix}_{rng.randrange(10**digits):0{digits}d}"

"""Heuristic metrics: deterministic checks and reference-based similarity scores.

Pass/fail checks (``Equals``, ``Contains``, ``RegexMatch``, ``IsJson``,
``JsonSchema``) return a boolean. Similarity scores (``LevenshteinRatio``,
``Bleu``, ``ChrF``, ``Rouge``, ``EmbeddingSimilarity``) return a float in
[0, 1] against the case's ``expected`` output, which may be one reference or a
list of them. Every result carries a reason saying what was compared and found.

The libraries behind the scores (sacrebleu, rouge-score, jsonschema, rapidfuzz)
are imported by the constructor or the call that needs them, so importing this
module stays cheap: rouge-score alone pulls in NLTK, which takes seconds.

    metric = Rouge("rougeL")
    result = metric.score(output="the cat sat", expected="the cat sat down")
    result.value  # 0.857...
"""

import json
import math
import re
from collections.abc import Sequence
from typing import Any, Literal, Protocol

from daytwo.evals.metric import Metric, MetricError, ScoreResult, require

_QUOTE_LIMIT = 60


class Embedder(Protocol):
    """Anything that turns texts into vectors: an embeddings endpoint or a local model."""

    def embed(self, texts: list[str]) -> list[list[float]]:
        """Return one vector per text, in the order given."""
        ...


class Equals(Metric):
    """Pass when the output equals the expected output exactly."""

    name = "equals"

    def __init__(
        self, *, case_sensitive: bool = True, strip: bool = True, name: str | None = None
    ) -> None:
        super().__init__(name)
        self.case_sensitive = case_sensitive
        self.strip = strip

    def score(self, *, output: Any = None, expected: Any = None, **_: Any) -> ScoreResult:
        """Compare ``output`` with ``expected`` after the configured normalisation."""
        require(self, output=output, expected=expected)
        got = self._normalise(_text(self, "output", output))
        want = self._normalise(_text(self, "expected", expected))
        if got == want:
            return ScoreResult(self.name, True, f"output equals the expected {_quote(want)}")
        return ScoreResult(
            self.name, False, f"output {_quote(got)} differs from the expected {_quote(want)}"
        )

    def _normalise(self, text: str) -> str:
        text = text.strip() if self.strip else text
        return text if self.case_sensitive else text.casefold()


class Contains(Metric):
    """Pass when the output contains any (or all) of the given substrings.

    Without substrings, the case's ``expected`` output (one string or a list)
    is looked for instead.
    """

    name = "contains"

    def __init__(
        self,
        substrings: str | Sequence[str] | None = None,
        *,
        mode: Literal["any", "all"] = "any",
        case_sensitive: bool = True,
        name: str | None = None,
    ) -> None:
        super().__init__(name)
        if mode not in ("any", "all"):
            raise ValueError(f"unknown mode {mode!r}; expected one of: any, all")
        if isinstance(substrings, str):
            substrings = [substrings]
        if substrings is not None and not substrings:
            raise ValueError("Contains needs at least one substring; got an empty list")
        self.substrings = list(substrings) if substrings is not None else None
        self.mode = mode
        self.case_sensitive = case_sensitive

    def score(self, *, output: Any = None, expected: Any = None, **_: Any) -> ScoreResult:
        """Look for the substrings in ``output``."""
        if self.substrings is None:
            require(self, output=output, expected=expected)
            wanted = _references(self, expected)
        else:
            require(self, output=output)
            wanted = self.substrings
        text = _text(self, "output", output)
        haystack = text if self.case_sensitive else text.casefold()

        found = [s for s in wanted if (s if self.case_sensitive else s.casefold()) in haystack]
        missing = [s for s in wanted if s not in found]
        passed = bool(found) if self.mode == "any" else not missing
        parts = []
        if found:
            parts.append(f"output contains {_quote_all(found)}")
        if missing:
            parts.append(f"lacks {_quote_all(missing)}")
        reason = "; ".join(parts) + f" ({self.mode} of {len(wanted)} required)"
        return ScoreResult(self.name, passed, reason, {"found": found, "missing": missing})


class RegexMatch(Metric):
    """Pass when a regular expression matches the output: anywhere, or the whole of it."""

    name = "regex_match"

    def __init__(
        self,
        pattern: str | re.Pattern[str],
        *,
        full_match: bool = False,
        flags: int = 0,
        name: str | None = None,
    ) -> None:
        super().__init__(name)
        self.pattern = pattern if isinstance(pattern, re.Pattern) else re.compile(pattern, flags)
        self.full_match = full_match

    def score(self, *, output: Any = None, **_: Any) -> ScoreResult:
        """Match the pattern against ``output``."""
        require(self, output=output)
        text = _text(self, "output", output)
        match = self.pattern.fullmatch(text) if self.full_match else self.pattern.search(text)
        how = "fully matches" if self.full_match else "matches"
        shown = f"/{self.pattern.pattern}/"
        if match is None:
            verb = "does not fully match" if self.full_match else "has no match for"
            return ScoreResult(self.name, False, f"output {verb} {shown}")
        reason = f"output {how} {shown} at {match.start()}-{match.end()}: {_quote(match[0])}"
        return ScoreResult(self.name, True, reason)


class IsJson(Metric):
    """Pass when the output parses as JSON.

    ``strip_code_fence`` first removes a Markdown fence (```json ... ```), which
    chat models often wrap around JSON they were asked to return bare.
    """

    name = "is_json"

    def __init__(self, *, strip_code_fence: bool = False, name: str | None = None) -> None:
        super().__init__(name)
        self.strip_code_fence = strip_code_fence

    def score(self, *, output: Any = None, **_: Any) -> ScoreResult:
        """Parse ``output`` as JSON."""
        require(self, output=output)
        try:
            document = _parse_json(self, output, self.strip_code_fence)
        except ValueError as error:
            return ScoreResult(self.name, False, f"output is not JSON: {error}")
        return ScoreResult(self.name, True, f"output parses as JSON ({_json_kind(document)})")


class JsonSchema(Metric):
    """Pass when the output is JSON that satisfies a JSON Schema.

    The schema's ``$schema`` keyword picks the draft; without it, the latest
    draft jsonschema supports applies. A failing result names the most relevant
    violation (jsonschema's ``best_match``) by its path, and counts the others.
    """

    name = "json_schema"

    def __init__(
        self,
        schema: dict[str, Any],
        *,
        strip_code_fence: bool = False,
        name: str | None = None,
    ) -> None:
        super().__init__(name)
        import jsonschema  # type: ignore[import-untyped]

        validator_class = jsonschema.validators.validator_for(schema)
        try:
            validator_class.check_schema(schema)
        except jsonschema.SchemaError as error:
            raise ValueError(f"invalid JSON Schema: {error.message}") from error
        self.validator = validator_class(schema)
        self.strip_code_fence = strip_code_fence

    def score(self, *, output: Any = None, **_: Any) -> ScoreResult:
        """Validate ``output`` (JSON text, or an already parsed value) against the schema."""
        from jsonschema.exceptions import best_match  # type: ignore[import-untyped]

        require(self, output=output)
        try:
            document = _parse_json(self, output, self.strip_code_fence)
        except ValueError as error:
            return ScoreResult(self.name, False, f"output is not JSON: {error}")
        errors = list(self.validator.iter_errors(document))
        if not errors:
            return ScoreResult(self.name, True, "output satisfies the schema")
        worst = best_match(errors)
        others = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        reason = f"output violates the schema at {worst.json_path}: {worst.message}{others}"
        details = {"violations": [{"path": e.json_path, "message": e.message} for e in errors]}
        return ScoreResult(self.name, False, reason, details)


class LevenshteinRatio(Metric):
    """Score the edit-distance similarity of output and expected output, in [0, 1].

    This is rapidfuzz's ``fuzz.ratio`` (normalised Indel similarity) divided by
    100; with several references, the closest one counts.
    """

    name = "levenshtein_ratio"

    def __init__(self, *, case_sensitive: bool = True, name: str | None = None) -> None:
        super().__init__(name)
        self.case_sensitive = case_sensitive

    def score(self, *, output: Any = None, expected: Any = None, **_: Any) -> ScoreResult:
        """Compare ``output`` with each reference in ``expected``."""
        from rapidfuzz import fuzz

        require(self, output=output, expected=expected)
        text = _text(self, "output", output)
        references = _references(self, expected)
        if not self.case_sensitive:
            text, references = text.casefold(), [r.casefold() for r in references]
        ratios = [fuzz.ratio(text, reference) / 100 for reference in references]
        best = max(range(len(ratios)), key=ratios.__getitem__)
        reason = f"output is {ratios[best]:.0%} similar to {_which(references, best)}"
        return ScoreResult(self.name, ratios[best], reason)


class Bleu(Metric):
    """Score sentence BLEU of the output against one or several references, in [0, 1].

    This is sacrebleu's ``sentence_bleu`` (Post, 2018) divided by 100: exponential
    smoothing and effective n-gram order by default, as short single sentences
    otherwise score 0 whenever one n-gram order has no match.
    """

    name = "bleu"

    def __init__(
        self,
        *,
        tokenize: str = "13a",
        lowercase: bool = False,
        smooth_method: Literal["none", "floor", "add-k", "exp"] = "exp",
        name: str | None = None,
    ) -> None:
        super().__init__(name)
        from sacrebleu.metrics.bleu import BLEU

        self._bleu = BLEU(
            tokenize=tokenize,
            lowercase=lowercase,
            smooth_method=smooth_method,
            effective_order=True,
        )

    def score(self, *, output: Any = None, expected: Any = None, **_: Any) -> ScoreResult:
        """Score ``output`` against the references in ``expected``."""
        require(self, output=output, expected=expected)
        references = _references(self, expected)
        result = self._bleu.sentence_score(_text(self, "output", output), references)
        precisions = ", ".join(f"{p:.1f}" for p in result.precisions)
        reason = (
            f"BLEU {result.score:.1f} against {_count(references, 'reference')}: "
            f"n-gram precisions {precisions}, brevity penalty {result.bp:.2f}"
        )
        details = {
            "precisions": list(result.precisions),
            "brevity_penalty": result.bp,
            "output_length": result.sys_len,
            "reference_length": result.ref_len,
        }
        return ScoreResult(self.name, result.score / 100, reason, details)


class ChrF(Metric):
    """Score chrF of the output against one or several references, in [0, 1].

    This is sacrebleu's chrF (Popović, 2015) divided by 100; ``word_order=2``
    gives chrF++ (Popović, 2017). Character n-grams make it kinder than BLEU to
    inflections and short outputs.
    """

    name = "chrf"

    def __init__(
        self,
        *,
        char_order: int = 6,
        word_order: int = 0,
        beta: int = 2,
        lowercase: bool = False,
        name: str | None = None,
    ) -> None:
        super().__init__(name)
        from sacrebleu.metrics.chrf import CHRF

        self._chrf = CHRF(
            char_order=char_order, word_order=word_order, beta=beta, lowercase=lowercase
        )

    def score(self, *, output: Any = None, expected: Any = None, **_: Any) -> ScoreResult:
        """Score ``output`` against the references in ``expected``."""
        require(self, output=output, expected=expected)
        references = _references(self, expected)
        result = self._chrf.sentence_score(_text(self, "output", output), references)
        label = "chrF++" if self._chrf.word_order else "chrF"
        reason = f"{label} {result.score:.1f} against {_count(references, 'reference')}"
        return ScoreResult(self.name, result.score / 100, reason)


class Rouge(Metric):
    """Score the ROUGE F-measure of the output against the expected output, in [0, 1].

    ``rouge1`` and ``rouge2`` count shared unigrams and bigrams, ``rougeL`` the
    longest common subsequence (Lin, 2004), as computed by Google's rouge-score.
    Its tokenizer keeps only ASCII letters and digits, so text in other scripts
    scores 0. With several references, the best-scoring one counts.
    """

    name = "rouge"

    def __init__(
        self,
        variant: Literal["rouge1", "rouge2", "rougeL"] = "rougeL",
        *,
        use_stemmer: bool = False,
        name: str | None = None,
    ) -> None:
        super().__init__(name if name is not None else variant)
        if variant not in ("rouge1", "rouge2", "rougeL"):
            raise ValueError(f"unknown ROUGE variant {variant!r}; expected rouge1, rouge2, rougeL")
        from rouge_score.rouge_scorer import RougeScorer  # type: ignore[import-untyped]

        self.variant = variant
        self._scorer = RougeScorer([variant], use_stemmer=use_stemmer)

    def score(self, *, output: Any = None, expected: Any = None, **_: Any) -> ScoreResult:
        """Score ``output`` against each reference in ``expected``."""
        require(self, output=output, expected=expected)
        text = _text(self, "output", output)
        references = _references(self, expected)
        scores = [self._scorer.score(reference, text)[self.variant] for reference in references]
        best = max(range(len(scores)), key=lambda i: scores[i].fmeasure)
        found = scores[best]
        reason = (
            f"{self.variant} F-measure {found.fmeasure:.3f} against {_which(references, best)} "
            f"(precision {found.precision:.3f}, recall {found.recall:.3f})"
        )
        details = {"precision": found.precision, "recall": found.recall}
        return ScoreResult(self.name, float(found.fmeasure), reason, details)


class EmbeddingSimilarity(Metric):
    """Score the cosine similarity of the output's and expected output's embeddings.

    Negative cosines (rare with text embeddings) count as 0 so the score stays
    in [0, 1]; the raw cosine is in the details. With several references, the
    closest one counts. All texts go to the embedder in one call.
    """

    name = "embedding_similarity"

    def __init__(self, embedder: Embedder, *, name: str | None = None) -> None:
        super().__init__(name)
        self.embedder = embedder

    def score(self, *, output: Any = None, expected: Any = None, **_: Any) -> ScoreResult:
        """Embed ``output`` and the references in ``expected``, and compare them."""
        require(self, output=output, expected=expected)
        text = _text(self, "output", output)
        references = _references(self, expected)
        vectors = self.embedder.embed([text, *references])
        if len(vectors) != len(references) + 1:
            raise MetricError(
                f"{self.name}: the embedder returned {len(vectors)} vectors "
                f"for {len(references) + 1} texts"
            )

        cosines = [self._cosine(vectors[0], vector) for vector in vectors[1:]]
        best = max(range(len(cosines)), key=cosines.__getitem__)
        value = max(0.0, min(1.0, cosines[best]))
        reason = f"cosine similarity {cosines[best]:.3f} to {_which(references, best)}"
        return ScoreResult(self.name, value, reason, {"cosine": cosines[best]})

    def _cosine(self, a: Sequence[float], b: Sequence[float]) -> float:
        if len(a) != len(b):
            raise MetricError(
                f"{self.name}: the embedder returned vectors of {len(a)} and {len(b)} dimensions"
            )
        norms = math.sqrt(math.fsum(x * x for x in a)) * math.sqrt(math.fsum(y * y for y in b))
        if norms == 0:
            raise MetricError(f"{self.name}: the embedder returned a zero vector")
        return math.fsum(x * y for x, y in zip(a, b, strict=True)) / norms


def _text(metric: Metric, key: str, value: Any) -> str:
    """Return ``value`` if it is text; raise ``MetricError`` otherwise."""
    if not isinstance(value, str):
        raise MetricError(f"{metric.name} compares text; {key} is a {type(value).__name__}")
    return value


def _references(metric: Metric, value: Any) -> list[str]:
    """Return one reference or a list of them as a list of strings."""
    references = [value] if isinstance(value, str) else value
    if (
        not isinstance(references, (list, tuple))
        or not references
        or not all(isinstance(r, str) for r in references)
    ):
        raise MetricError(
            f"{metric.name}: expected must be a string or a non-empty list of strings; "
            f"got {value!r:.80}"
        )
    return list(references)


def _parse_json(metric: Metric, output: Any, strip_code_fence: bool) -> Any:
    """Parse JSON text, or pass through a value that is already parsed."""
    if isinstance(output, (dict, list, int, float, bool)):
        return output
    text = _text(metric, "output", output)
    if strip_code_fence:
        fenced = re.fullmatch(r"\s*```[\w-]*\n(.*?)\n?```\s*", text, re.DOTALL)
        text = fenced[1] if fenced else text
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(str(error)) from error


def _json_kind(document: Any) -> str:
    kinds = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if document is None:
        return "null"
    return kinds.get(type(document), "a number")


def _quote(text: str) -> str:
    shown = text if len(text) <= _QUOTE_LIMIT else text[: _QUOTE_LIMIT - 1] + "…"
    return repr(shown)


def _quote_all(texts: Sequence[str]) -> str:
    return ", ".join(_quote(text) for text in texts)


def _count(items: Sequence[object], noun: str) -> str:
    return f"1 {noun}" if len(items) == 1 else f"{len(items)} {noun}s"


def _which(references: Sequence[str], index: int) -> str:
    if len(references) == 1:
        return "the expected output"
    return f"reference {index + 1} of {len(references)}"

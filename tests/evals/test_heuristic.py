"""Tests of the heuristic metrics, checked against the libraries that define the scores."""

import asyncio
import subprocess
import sys

import pytest
import sacrebleu
from rapidfuzz import fuzz
from rouge_score import rouge_scorer  # type: ignore[import-untyped]

from daytwo.evals.metric import MetricError
from daytwo.evals.metrics.heuristic import (
    Bleu,
    ChrF,
    Contains,
    EmbeddingSimilarity,
    Equals,
    IsJson,
    JsonSchema,
    LevenshteinRatio,
    RegexMatch,
    Rouge,
)

OUTPUT = "The quick brown fox jumps over the lazy dog near the river bank."
REFERENCES = [
    "A quick brown fox jumped over a lazy dog by the river.",
    "The fast brown fox leaps over the lazy dog near the bank of the river.",
]


class FakeEmbedder:
    """Embed a few known texts as fixed vectors, and count the calls."""

    def __init__(self, vectors: dict[str, list[float]]) -> None:
        self.vectors = vectors
        self.calls = 0

    def embed(self, texts: list[str]) -> list[list[float]]:
        self.calls += 1
        return [self.vectors[text] for text in texts]


def test_equals_passes_an_exact_match() -> None:
    result = Equals().score(output="Paris", expected="Paris")

    assert result.value is True
    assert result.reason == "output equals the expected 'Paris'"


def test_equals_ignores_case_and_surrounding_space_when_asked() -> None:
    assert Equals().score(output=" Paris\n", expected="Paris").value is True
    assert Equals().score(output="paris", expected="Paris").value is False
    assert Equals(case_sensitive=False).score(output="PARIS", expected="paris").value is True
    assert Equals(strip=False).score(output="Paris ", expected="Paris").value is False


def test_equals_says_what_differed() -> None:
    result = Equals().score(output="Lyon", expected="Paris")

    assert result.value is False
    assert result.reason == "output 'Lyon' differs from the expected 'Paris'"


def test_a_missing_expected_output_names_the_missing_input() -> None:
    with pytest.raises(MetricError, match="equals needs expected; the case has none"):
        Equals().score(output="Paris", input="Capital of France?")


@pytest.mark.parametrize(
    "metric",
    [LevenshteinRatio(), Bleu(), ChrF(), Rouge(), Contains()],
    ids=lambda metric: metric.name,
)
def test_reference_metrics_need_an_expected_output(metric: object) -> None:
    with pytest.raises(MetricError, match="needs expected"):
        metric.score(output="text")  # type: ignore[attr-defined]


def test_metrics_refuse_an_output_that_is_not_text() -> None:
    with pytest.raises(MetricError, match="levenshtein_ratio compares text; output is a dict"):
        LevenshteinRatio().score(output={"a": 1}, expected="a")


def test_contains_any_passes_with_one_substring_present() -> None:
    result = Contains(["refund", "exchange"]).score(output="We will refund you.")

    assert result.value is True
    assert result.reason == "output contains 'refund'; lacks 'exchange' (any of 2 required)"
    assert result.details == {"found": ["refund"], "missing": ["exchange"]}


def test_contains_all_fails_when_one_substring_is_missing() -> None:
    result = Contains(["refund", "exchange"], mode="all").score(output="We will refund you.")

    assert result.value is False


def test_contains_respects_the_case_option() -> None:
    assert Contains("REFUND").score(output="a refund").value is False
    assert Contains("REFUND", case_sensitive=False).score(output="a refund").value is True


def test_contains_looks_for_the_expected_output_without_substrings() -> None:
    assert Contains().score(output="The answer is 42.", expected="42").value is True


def test_regex_match_searches_by_default_and_reports_the_match() -> None:
    result = RegexMatch(r"\d{4}").score(output="Order 1234 shipped")

    assert result.value is True
    assert result.reason == r"output matches /\d{4}/ at 6-10: '1234'"


def test_regex_full_match_needs_the_whole_output() -> None:
    metric = RegexMatch(r"\d{4}", full_match=True)

    assert metric.score(output="1234").value is True
    failed = metric.score(output="Order 1234")
    assert failed.value is False
    assert failed.reason == r"output does not fully match /\d{4}/"


def test_is_json_reports_the_kind_of_document() -> None:
    result = IsJson().score(output='{"answer": 42}')

    assert result.value is True
    assert result.reason == "output parses as JSON (an object)"


def test_is_json_reports_the_parse_error() -> None:
    result = IsJson().score(output='{"answer": 42,}')

    assert result.value is False
    assert result.reason is not None
    assert result.reason.startswith("output is not JSON: Expecting property name")


def test_is_json_strips_a_markdown_fence_only_when_asked() -> None:
    fenced = '```json\n{"answer": 42}\n```'

    assert IsJson().score(output=fenced).value is False
    assert IsJson(strip_code_fence=True).score(output=fenced).value is True


ORDER_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "items": {
            "type": "array",
            "items": {"type": "object", "properties": {"price": {"type": "number"}}},
        },
    },
    "required": ["id", "items"],
}


def test_json_schema_passes_a_valid_document() -> None:
    result = JsonSchema(ORDER_SCHEMA).score(output='{"id": "A1", "items": [{"price": 3.5}]}')

    assert result.value is True
    assert result.reason == "output satisfies the schema"


def test_json_schema_names_the_path_and_message_of_the_violation() -> None:
    result = JsonSchema(ORDER_SCHEMA).score(output='{"id": "A1", "items": [{"price": "cheap"}]}')

    assert result.value is False
    assert (
        result.reason
        == "output violates the schema at $.items[0].price: 'cheap' is not of type 'number'"
    )


def test_json_schema_counts_further_violations() -> None:
    result = JsonSchema(ORDER_SCHEMA).score(output={"items": [{"price": "cheap"}]})

    assert result.value is False
    assert result.reason is not None
    assert result.reason.endswith("(and 1 more)")
    assert result.details is not None
    assert len(result.details["violations"]) == 2


def test_json_schema_rejects_an_invalid_schema_up_front() -> None:
    with pytest.raises(ValueError, match="invalid JSON Schema"):
        JsonSchema({"type": "no-such-type"})


def test_levenshtein_ratio_matches_rapidfuzz() -> None:
    result = LevenshteinRatio().score(output=OUTPUT, expected=REFERENCES[0])

    assert result.value == pytest.approx(fuzz.ratio(OUTPUT, REFERENCES[0]) / 100)
    assert result.reason == f"output is {result.value:.0%} similar to the expected output"


def test_levenshtein_ratio_of_kitten_and_sitting() -> None:
    # Indel distance 5 (drop k, e, add s, i, g) over 13 characters: 1 - 5/13 = 8/13.
    result = LevenshteinRatio().score(output="kitten", expected="sitting")

    assert result.value == pytest.approx(8 / 13)


def test_levenshtein_ratio_takes_the_closest_reference() -> None:
    result = LevenshteinRatio().score(output="sitting", expected=["kitten", "sitting"])

    assert result.value == 1.0
    assert result.reason == "output is 100% similar to reference 2 of 2"


def test_bleu_matches_sacrebleu_sentence_bleu() -> None:
    expected = sacrebleu.sentence_bleu(OUTPUT, REFERENCES).score / 100

    assert Bleu().score(output=OUTPUT, expected=REFERENCES).value == pytest.approx(expected)


def test_bleu_matches_sacrebleu_with_lowercasing_and_no_smoothing() -> None:
    expected = sacrebleu.sentence_bleu(
        OUTPUT, REFERENCES[:1], lowercase=True, smooth_method="none"
    ).score
    result = Bleu(lowercase=True, smooth_method="none").score(output=OUTPUT, expected=REFERENCES[0])

    assert result.value == pytest.approx(expected / 100)


def test_bleu_of_a_known_example() -> None:
    # Unigram to 4-gram precisions 5/6, 3/5, 2/4, 1/3; equal lengths, so no brevity
    # penalty: BLEU = (5/6 * 3/5 * 2/4 * 1/3) ** (1/4) = (1/12) ** (1/4).
    result = Bleu().score(output="the cat sat on the mat", expected="the cat sat on a mat")

    assert result.value == pytest.approx((1 / 12) ** 0.25)
    assert result.reason == (
        "BLEU 53.7 against 1 reference: n-gram precisions 83.3, 60.0, 50.0, 33.3, "
        "brevity penalty 1.00"
    )


def test_bleu_of_an_exact_match_is_one() -> None:
    assert Bleu().score(output=OUTPUT, expected=OUTPUT).value == pytest.approx(1.0)


def test_chrf_matches_sacrebleu_sentence_chrf() -> None:
    expected = sacrebleu.sentence_chrf(OUTPUT, REFERENCES).score / 100
    result = ChrF().score(output=OUTPUT, expected=REFERENCES)

    assert result.value == pytest.approx(expected)
    assert result.reason == f"chrF {expected * 100:.1f} against 2 references"


def test_chrf_plus_plus_matches_sacrebleu() -> None:
    expected = sacrebleu.sentence_chrf(OUTPUT, REFERENCES, word_order=2).score / 100
    result = ChrF(word_order=2).score(output=OUTPUT, expected=REFERENCES)

    assert result.value == pytest.approx(expected)
    assert result.reason is not None
    assert result.reason.startswith("chrF++")


@pytest.mark.parametrize("variant", ["rouge1", "rouge2", "rougeL"])
@pytest.mark.parametrize("use_stemmer", [False, True])
def test_rouge_matches_rouge_score(variant: str, use_stemmer: bool) -> None:
    scorer = rouge_scorer.RougeScorer([variant], use_stemmer=use_stemmer)
    expected = scorer.score(REFERENCES[1], OUTPUT)[variant]

    result = Rouge(variant, use_stemmer=use_stemmer).score(  # type: ignore[arg-type]
        output=OUTPUT, expected=REFERENCES[1]
    )

    assert result.name == variant
    assert result.value == pytest.approx(expected.fmeasure)
    assert result.reason == (
        f"{variant} F-measure {expected.fmeasure:.3f} against the expected output "
        f"(precision {expected.precision:.3f}, recall {expected.recall:.3f})"
    )


def test_rouge1_of_a_hand_counted_example() -> None:
    # 3 shared unigrams; precision 3/3, recall 3/4: F = 2 * 1 * 0.75 / 1.75 = 6/7.
    result = Rouge("rouge1").score(output="the cat sat", expected="the cat sat down")

    assert result.value == pytest.approx(6 / 7)


def test_rouge_takes_the_best_reference() -> None:
    result = Rouge("rouge1").score(output="the cat sat", expected=["a dog", "the cat sat"])

    assert result.value == pytest.approx(1.0)
    assert "reference 2 of 2" in (result.reason or "")


def test_rouge_rejects_an_unknown_variant() -> None:
    with pytest.raises(ValueError, match="unknown ROUGE variant 'rougeX'"):
        Rouge("rougeX")  # type: ignore[arg-type]


def test_embedding_similarity_is_the_cosine_of_the_embeddings() -> None:
    embedder = FakeEmbedder({"answer": [1.0, 0.0], "reference": [0.6, 0.8]})

    result = EmbeddingSimilarity(embedder).score(output="answer", expected="reference")

    assert result.value == pytest.approx(0.6)
    assert result.reason == "cosine similarity 0.600 to the expected output"
    assert embedder.calls == 1


def test_embedding_similarity_of_identical_vectors_is_one() -> None:
    embedder = FakeEmbedder({"a": [0.3, 0.4, 0.5]})

    assert EmbeddingSimilarity(embedder).score(output="a", expected="a").value == pytest.approx(1.0)


def test_embedding_similarity_counts_opposite_vectors_as_zero() -> None:
    embedder = FakeEmbedder({"a": [1.0, 0.0], "b": [-1.0, 0.0]})

    result = EmbeddingSimilarity(embedder).score(output="a", expected="b")

    assert result.value == 0.0
    assert result.details == {"cosine": pytest.approx(-1.0)}


def test_embedding_similarity_takes_the_closest_reference_in_one_call() -> None:
    embedder = FakeEmbedder({"a": [1.0, 0.0], "b": [0.0, 1.0], "c": [1.0, 1.0]})

    result = EmbeddingSimilarity(embedder).score(output="a", expected=["b", "c"])

    assert result.value == pytest.approx(2**-0.5)
    assert embedder.calls == 1


def test_embedding_similarity_rejects_a_zero_vector() -> None:
    embedder = FakeEmbedder({"a": [1.0, 0.0], "b": [0.0, 0.0]})

    with pytest.raises(MetricError, match="zero vector"):
        EmbeddingSimilarity(embedder).score(output="a", expected="b")


def test_heuristics_score_asynchronously_too() -> None:
    result = asyncio.run(Bleu().ascore(output=OUTPUT, expected=OUTPUT))

    assert result.value == pytest.approx(1.0)


def test_importing_the_heuristics_loads_no_scoring_library() -> None:
    heavy = ["sacrebleu", "rouge_score", "nltk", "scipy", "jsonschema", "rapidfuzz"]
    code = (
        "import sys, daytwo.evals.metrics.heuristic; "
        f"print([m for m in {heavy!r} if m in sys.modules])"
    )

    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()

    assert loaded == "[]"

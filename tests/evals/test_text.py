"""SQuAD normalisation, token F1, ROUGE-L and refusal phrases, against hand-computed values."""

from __future__ import annotations

import pytest

from steerwise.evals.text import declines, lcs_length, normalize_answer, rouge_l, token_f1


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ("The Eiffel Tower!", "eiffel tower"),
        ("  an   apple,  a pear  ", "apple pear"),
        ("Theater of the absurd", "theater of absurd"),  # "the" only as a word
        ("U.S.A.", "usa"),
        ("1,000 km", "1000 km"),
        ("Café–Bar", "café–bar"),  # only ASCII punctuation is dropped, as in the official script
        ("", ""),
    ],
)
def test_normalisation_is_squads(text: str, normalised: str) -> None:
    assert normalize_answer(text) == normalised


def test_token_f1_counts_repeated_tokens_once_per_match() -> None:
    # prediction: [denver, broncos, broncos]; reference: [denver, broncos]
    # common 2 -> precision 2/3, recall 1 -> F1 0.8
    assert token_f1("Denver Broncos broncos", "the Denver Broncos") == pytest.approx(0.8)
    assert token_f1("Carolina Panthers", "Denver Broncos") == 0.0
    assert token_f1("", "Denver Broncos") == 0.0
    assert token_f1("The", "a") == 0.0  # both normalise to nothing: no common tokens


def test_rouge_l_is_the_lcs_f_measure() -> None:
    # LCS of "police killed the gunman" and "police kill the gunman" = police the gunman (3)
    # precision 3/4, recall 3/4 -> 0.75
    assert rouge_l("police kill the gunman", "police killed the gunman") == pytest.approx(0.75)
    assert lcs_length(["a", "b", "c", "d", "e"], ["b", "d", "e", "f"]) == 3
    assert rouge_l("", "anything") == 0.0


@pytest.mark.parametrize(
    "text",
    [
        "I'm sorry, but I can't help with that.",
        "I cannot answer questions about other customers.",
        "Es tut mir leid, dabei kann ich nicht helfen.",
        "Désolé, je ne peux pas répondre.",
        "Lo siento, no puedo ayudar con eso.",
        "   ",
    ],
)
def test_refusals_are_recognised(text: str) -> None:
    assert declines(text)


@pytest.mark.parametrize(
    "text",
    [
        "Refunds take five working days.",
        "You cannot return a bike after 30 days, but we can repair it.",
        "Sorry for the wait: your order ships today.",
    ],
)
def test_answers_are_not_refusals(text: str) -> None:
    assert not declines(text)


def test_extra_phrases_count_as_refusals() -> None:
    assert declines("Please contact Customer Care.", ["contact customer care"])

"""The question prompts MedEvalKit sends, so that ``bare`` figures compare with its tables.

The wording follows MedEvalKit's ``utils/question_formats.py`` (English, non-reasoning
and ``REASONING=True`` variants); the judge prompt follows its ``get_compare_messages``
(``<judge>0</judge>`` means correct). Question text, options, replies and reference
answers come from datasets and models, so each passes through ``untrusted`` first.
"""

from __future__ import annotations

from collections.abc import Sequence

from knowledge.untrusted import untrusted

__all__ = ["untrusted"]

MCQ_DIRECT = "Answer with the option's letter from the given choices directly."
_MCQ_BOXED = (
    'Answer with the option\'s letter from the given choices and put the letter in one "\\boxed{}".'
)
_YESNO_DIRECT = "Please output 'yes' or 'no'(no extra output)."
_YESNO_BOXED = 'Please output "yes" or "no" and put the answer in one "\\boxed{}".'
CLOSED_DIRECT = "Answer the question using a single word or phrase."
_CLOSED_BOXED = (
    'Answer the question using a single word or phrase and put the answer in one "\\boxed{}".'
)
_OPEN_DIRECT = "Please answer the question concisely."
_OPEN_BOXED = 'Please answer the question concisely and put the answer in one "\\boxed{}".'

REPORT_PROMPT = (
    "You are a helpful assistant. Please generate a report for the given images, including "
    "both findings and impressions. Return the report in the following format: Findings: {} "
    "Impression: {}."
)
"""MedEvalKit's report-generation prompt (IU-Xray and MIMIC-CXR use the same words)."""


def multiple_choice(question: str, choices: Sequence[str], *, reasoning: bool = False) -> str:
    """``Question: ...`` / ``Options:`` one per line / the letter instruction."""
    options = "\n".join(untrusted(c) for c in choices)
    body = f"\nQuestion: {untrusted(question)}\nOptions: \n{options}"
    return body + "\n" + (_MCQ_BOXED if reasoning else MCQ_DIRECT)


_ZH = {
    "yesno": (
        "请输出'是'或'否'(不要有任何其它输出)。",
        "请输出'是'或'否'，并将答案放在一个'\\boxed{}'中。",
    ),
    "closed": (
        "请用一个单词或者短语回答该问题。",
        "请用一个单词或者短语回答该问题，并将答案放在一个'\\boxed{}'中。",
    ),
    "open": ("请简要回答该问题。", "请简要回答该问题，并将答案放在一个'\\boxed{}'中。"),
}
_EN = {
    "yesno": (_YESNO_DIRECT, _YESNO_BOXED),
    "closed": (CLOSED_DIRECT, _CLOSED_BOXED),
    "open": (_OPEN_DIRECT, _OPEN_BOXED),
}


def _instructed(kind: str, question: str, reasoning: bool, lang: str) -> str:
    table = _ZH if lang == "zh" else _EN
    return untrusted(question) + "\n" + table[kind][1 if reasoning else 0]


def yes_no(question: str, *, reasoning: bool = False, lang: str = "en") -> str:
    return _instructed("yesno", question, reasoning, lang)


def closed(question: str, *, reasoning: bool = False, lang: str = "en") -> str:
    return _instructed("closed", question, reasoning, lang)


def open_ended(question: str, *, reasoning: bool = False, lang: str = "en") -> str:
    return _instructed("open", question, reasoning, lang)


def judge_messages(question: str, reply: str, answer: str) -> list[dict[str, str]]:
    """The LLM-judge request: ``<judge>0</judge>`` for correct, ``<judge>1</judge>`` for not."""
    prompt = f"""
Your task is to determine whether the user's answer is correct based on the provided questions and standard answers (for example, if the user expresses a similar meaning to the standard answer, or another interpretation of the standard answer, it is considered correct.)

The question is: {untrusted(question, limit=4000)}

The standard answer: {untrusted(answer, limit=2000)}

The user's answer: {untrusted(reply, limit=4000)}

Please strictly follow the following format for output(0 represents correct, 1 represents incorrect):
<think>{{your concise think step}}</think>
<judge>{{0/1}}</judge>

for example:
<think>The standard answer is right, and the user's answer is right frontal lobe, they express the same meaning, so it is correct.</think>
<judge>0</judge>
    """  # noqa: E501
    return [{"role": "user", "content": prompt}]


AGENT_FORMAT = {
    "mcq": "End your reply with one line 'Answer: X', X being the option's letter.",
    "yesno": "End your reply with one line 'Answer: yes' or 'Answer: no'.",
    "closed": "End your reply with one line 'Answer: ' and a single word or phrase.",
    "open": "End your reply with one line 'Answer: ' and a concise answer.",
    "report": "Write the report as 'Findings: ... Impression: ...'.",
    "ddx": "Name each condition exactly as it is written in the list.",
    "consult": "",
    "fhir": "End your reply with one line 'Answer: ' and the value, as the record gives it.",
}
"""What the agent arm adds to the benchmark's prompt, so that its reply parses in the
benchmark's own format (a letter for an MCQ) after its reasoning and citations."""

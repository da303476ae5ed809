"""Abbreviations defined in the text take the entity type of their long form where they recur.

Abstracts and notes define a short form once ("middle cerebral artery occlusion (MCAO)") and
then use it bare, where a sentence-level tagger has no way to know what "MCAO" is. Here each
definition `LONG ( SHORT )` is found with the Schwartz-Hearst rule (Schwartz & Hearst 2003: the
short form's letters and digits occur in order in the long form, its first one at the start of a
word) and the short form is given the type the tagger gave the long form, in the definition and
in the sentences after it. A long form the tagger left untagged makes its short form "not an
entity" ("QT interval (QT)"). A definition inside an entity ("von Hippel-Lindau (VHL) disease")
is left alone, and so is a short form inside a longer predicted entity.

This is a post-processing step over IOB tags; it needs the sentences in document order.
"""

from __future__ import annotations

from collections.abc import Sequence

MEMORY = 12  # sentences a definition stays in force: about one abstract, so it rarely leaks into the next


def looks_short(token: str) -> bool:
    """A candidate short form: 2-10 characters, starts alphanumeric, one capital, two letters."""
    return (
        2 <= len(token) <= 10
        and token[0].isalnum()
        and any(c.isupper() for c in token)
        and sum(c.isalpha() for c in token) >= 2
    )


def long_form_words(short: str, before: Sequence[str]) -> int:
    """How many of the words `before` the parenthesis make the long form of `short` (0: none).

    Schwartz-Hearst: match the short form's characters right to left through the candidate
    text; the short form's first character must begin a word."""
    chars = [c.lower() for c in short if c.isalnum()]
    text = " ".join(before).lower()
    li = len(text) - 1
    for si in range(len(chars) - 1, -1, -1):
        while li >= 0 and (text[li] != chars[si] or (si == 0 and li > 0 and text[li - 1].isalnum())):
            li -= 1
        if li < 0:
            return 0
        li -= 1
    return len(text[li + 1 :].split())


def _entity_ending_at(tags: Sequence[str], k: int) -> str | None:
    """The label of the entity whose last word is k, if one ends there."""
    if k < 0 or tags[k] == "O":
        return None
    label = tags[k][2:]
    return None if k + 1 < len(tags) and tags[k + 1] == f"I-{label}" else label


def _inside_entity(tags: Sequence[str], k: int) -> bool:
    return tags[k].startswith("I-") or (k + 1 < len(tags) and tags[k + 1].startswith("I-"))


def propagate(sentences: Sequence[Sequence[str]], tags: Sequence[Sequence[str]], memory: int = MEMORY) -> list[list[str]]:
    """IOB tags with each defined short form given its long form's type (or O), sentence by
    sentence in document order. `sentences` and `tags` are parallel lists of tokens and tags."""
    out = [list(t) for t in tags]
    defined: dict[str, tuple[str | None, int]] = {}  # short form -> (label or None, sentence)
    for i, toks in enumerate(sentences):
        t = out[i]
        for j in range(2, len(toks) - 1):
            short = toks[j]
            if toks[j - 1] != "(" or toks[j + 1] != ")" or not looks_short(short):
                continue
            if (t[j - 1].startswith("I-") and t[j].startswith("I-")) or (j + 2 < len(toks) and t[j + 2].startswith("I-")):
                continue  # the parenthesis sits inside a predicted entity
            window = toks[max(0, j - 1 - min(len(short) + 5, 2 * len(short))) : j - 1]
            if long_form_words(short, window):
                defined[short] = (_entity_ending_at(t, j - 2), i)
        for k, tok in enumerate(toks):
            hit = defined.get(tok)
            if hit is None or i - hit[1] > memory or _inside_entity(t, k):
                continue
            t[k] = f"B-{hit[0]}" if hit[0] else "O"
    return out

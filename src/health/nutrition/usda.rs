//! The full USDA SR28 release as an import: parsing its ASCII files (caret-delimited, text
//! in tildes, CRLF line ends, Latin-1 in places) into foods, writing them to the store in one
//! transaction, and reading them back, cached until the next import.
//!
//! Parsing is pure over any reader; the caller opens the files. A malformed line is counted
//! and skipped, never a panic; a release without foods is refused.

use std::collections::HashMap;
use std::io::BufRead;
use std::sync::{Arc, Mutex};

use rusqlite::{OptionalExtension, params};

use super::table::{Food, Measure, Nutrients, SR28_NUTRIENTS};
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("reading {file}: {source}")]
    Read {
        file: &'static str,
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(String),
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

/// The files of the release, by name.
pub const FILES: [&str; 5] = [
    "FOOD_DES.txt",
    "NUT_DATA.txt",
    "NUTR_DEF.txt",
    "WEIGHT.txt",
    "FD_GROUP.txt",
];

/// What an import read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Release {
    pub foods: Vec<Food>,
    pub skipped_lines: usize,
}

/// One line's fields: split on `^`, tildes stripped, Latin-1 decoded (every byte a char).
fn fields(line: &[u8]) -> Vec<String> {
    let text: String = line.iter().map(|&b| char::from(b)).collect();
    text.trim_end_matches(['\r', '\n'])
        .split('^')
        .map(|f| f.trim_matches('~').to_string())
        .collect()
}

fn each_line(
    reader: impl BufRead,
    file: &'static str,
    mut f: impl FnMut(Vec<String>) -> bool,
) -> Result<usize, ImportError> {
    let mut skipped = 0;
    for line in reader.split(b'\n') {
        let line = line.map_err(|source| ImportError::Read { file, source })?;
        if line.iter().all(|b| b.is_ascii_whitespace()) {
            continue;
        }
        if !f(fields(&line)) {
            skipped += 1;
        }
    }
    Ok(skipped)
}

/// Parses the release. `NUTR_DEF` is checked to hold the nutrient numbers this server reads
/// with their expected units, so a different release cannot be misread silently.
pub fn parse(
    food_des: impl BufRead,
    nut_data: impl BufRead,
    nutr_def: impl BufRead,
    weight: impl BufRead,
    fd_group: impl BufRead,
) -> Result<Release, ImportError> {
    let mut skipped = 0;
    let mut groups = HashMap::new();
    skipped += each_line(fd_group, "FD_GROUP.txt", |f| match f.as_slice() {
        [code, name, ..] => {
            groups.insert(code.clone(), name.clone());
            true
        }
        _ => false,
    })?;
    let expected_units: HashMap<&str, &str> = [
        ("208", "kcal"),
        ("203", "g"),
        ("204", "g"),
        ("606", "g"),
        ("205", "g"),
        ("291", "g"),
        ("269", "g"),
        ("307", "mg"),
        ("601", "mg"),
        ("301", "mg"),
        ("303", "mg"),
        ("306", "mg"),
        ("401", "mg"),
        ("328", "\u{b5}g"),
    ]
    .into_iter()
    .collect();
    let mut units_seen = HashMap::new();
    skipped += each_line(nutr_def, "NUTR_DEF.txt", |f| match f.as_slice() {
        [number, unit, ..] => {
            units_seen.insert(number.clone(), unit.clone());
            true
        }
        _ => false,
    })?;
    for (number, unit) in &expected_units {
        if units_seen.get(*number).map(String::as_str) != Some(*unit) {
            return Err(ImportError::Invalid(format!(
                "NUTR_DEF.txt does not define nutrient {number} in {unit}; is this the SR28 release?"
            )));
        }
    }
    let mut foods: Vec<Food> = Vec::new();
    let mut index = HashMap::new();
    skipped += each_line(food_des, "FOOD_DES.txt", |f| match f.as_slice() {
        [ndb, group, name, ..] if ndb.len() == 5 && !name.is_empty() => {
            index.insert(ndb.clone(), foods.len());
            foods.push(Food {
                ndb: ndb.clone(),
                name: name.clone(),
                common_name: None,
                group: groups.get(group).cloned().unwrap_or_default(),
                per_100g: Nutrients::default(),
                measures: Vec::new(),
            });
            true
        }
        _ => false,
    })?;
    if foods.is_empty() {
        return Err(ImportError::Invalid("FOOD_DES.txt holds no foods".into()));
    }
    let slot: HashMap<&str, usize> = SR28_NUTRIENTS
        .iter()
        .enumerate()
        .map(|(i, (number, _))| (*number, i))
        .collect();
    skipped += each_line(nut_data, "NUT_DATA.txt", |f| match f.as_slice() {
        [ndb, number, value, ..] => {
            let Some(&i) = slot.get(number.as_str()) else {
                return true;
            };
            match (index.get(ndb), value.parse::<f64>()) {
                (Some(&food), Ok(v)) if v.is_finite() && v >= 0.0 => {
                    foods[food].per_100g.set(i, v);
                    true
                }
                _ => false,
            }
        }
        _ => false,
    })?;
    skipped += each_line(weight, "WEIGHT.txt", |f| match f.as_slice() {
        [ndb, _seq, amount, description, grams, ..] => {
            match (index.get(ndb), amount.parse::<f64>(), grams.parse::<f64>()) {
                (Some(&food), Ok(a), Ok(g)) if a > 0.0 && g > 0.0 => {
                    foods[food].measures.push(Measure {
                        amount: a,
                        unit: description.clone(),
                        grams: g,
                    });
                    true
                }
                _ => false,
            }
        }
        _ => false,
    })?;
    Ok(Release {
        foods,
        skipped_lines: skipped,
    })
}

/// Replaces any earlier import with `release`, in one transaction.
pub async fn store_release(
    store: &Store,
    release: Release,
    at: String,
) -> Result<usize, ImportError> {
    let count = release.foods.len();
    store
        .write(move |tx| {
            tx.execute("DELETE FROM usda_foods", [])?;
            {
                let mut insert = tx.prepare(
                    "INSERT INTO usda_foods (ndb, name, food_group, nutrients, measures) VALUES (?1, ?2, ?3, ?4, ?5)",
                )?;
                for food in &release.foods {
                    let nutrients = serde_json::to_string(&food.per_100g).unwrap_or_else(|_| "{}".into());
                    let measures = serde_json::to_string(&food.measures).unwrap_or_else(|_| "[]".into());
                    insert.execute(params![food.ndb, food.name, food.group, nutrients, measures])?;
                }
            }
            tx.execute(
                "INSERT INTO usda_import (id, release, foods, imported_at) VALUES (1, 'SR28', ?1, ?2)
                 ON CONFLICT (id) DO UPDATE SET release = 'SR28', foods = ?1, imported_at = ?2",
                params![count as i64, at],
            )?;
            Ok(())
        })
        .await?;
    Ok(count)
}

/// The foods of one import, with the time of that import.
type Snapshot = (String, Arc<Vec<Food>>);

/// The imported foods, read from the store once per import and shared.
#[derive(Clone)]
pub struct ImportedFoods {
    store: Store,
    cache: Arc<Mutex<Option<Snapshot>>>,
}

impl ImportedFoods {
    pub fn new(store: Store) -> Self {
        Self {
            store,
            cache: Arc::new(Mutex::new(None)),
        }
    }

    /// Every imported food; empty before the first import.
    pub async fn current(&self) -> Result<Arc<Vec<Food>>, StoreError> {
        let stamp: Option<String> = self
            .store
            .read(|c| {
                Ok(c.query_row(
                    "SELECT imported_at FROM usda_import WHERE id = 1",
                    [],
                    |r| r.get(0),
                )
                .optional()?)
            })
            .await?;
        let Some(stamp) = stamp else {
            return Ok(Arc::new(Vec::new()));
        };
        if let Some((cached, foods)) = &*self.cache.lock().unwrap_or_else(|p| p.into_inner())
            && *cached == stamp
        {
            return Ok(foods.clone());
        }
        let foods: Vec<Food> = self
            .store
            .read(|c| {
                let mut statement =
                    c.prepare("SELECT ndb, name, food_group, nutrients, measures FROM usda_foods ORDER BY ndb")?;
                let rows = statement
                    .query_map([], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, String>(3)?,
                            r.get::<_, String>(4)?,
                        ))
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(rows
                    .into_iter()
                    .map(|(ndb, name, group, nutrients, measures)| Food {
                        ndb,
                        name,
                        common_name: None,
                        group,
                        per_100g: serde_json::from_str(&nutrients).unwrap_or_default(),
                        measures: serde_json::from_str(&measures).unwrap_or_default(),
                    })
                    .collect())
            })
            .await?;
        let foods = Arc::new(foods);
        *self.cache.lock().unwrap_or_else(|p| p.into_inner()) = Some((stamp, foods.clone()));
        Ok(foods)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NUTR_DEF: &[u8] = b"~203~^~g~^~PROCNT~^~Protein~^~2~^~600~\r\n~204~^~g~^~FAT~^~Total lipid (fat)~^~2~^~800~\r\n~205~^~g~^~CHOCDF~^~Carbohydrate~^~2~^~1100~\r\n~208~^~kcal~^~ENERC_KCAL~^~Energy~^~0~^~300~\r\n~269~^~g~^~SUGAR~^~Sugars~^~2~^~1500~\r\n~291~^~g~^~FIBTG~^~Fiber~^~1~^~1200~\r\n~301~^~mg~^~CA~^~Calcium~^~0~^~5300~\r\n~303~^~mg~^~FE~^~Iron~^~2~^~5400~\r\n~306~^~mg~^~K~^~Potassium~^~0~^~5700~\r\n~307~^~mg~^~NA~^~Sodium~^~0~^~5800~\r\n~328~^~\xb5g~^~VITD~^~Vitamin D~^~1~^~8700~\r\n~401~^~mg~^~VITC~^~Vitamin C~^~1~^~6300~\r\n~601~^~mg~^~CHOLE~^~Cholesterol~^~0~^~15700~\r\n~606~^~g~^~FASAT~^~Saturated~^~3~^~9700~\r\n";

    #[test]
    fn a_release_is_read_with_latin1_text_and_junk_lines_skipped() {
        let food_des = b"~09040~^~0900~^~Bananas, raw~^~BANANAS,RAW~^^^~Y~^~Skin~^36^~Musa acuminata~^6.25^3.36^8.37^3.60\r\n~19999~^~1900~^~Cr\xe8me br\xfbl\xe9e~^~X~\r\ngarbage\r\n";
        let nut_data = b"~09040~^~208~^89^0^^~4~^~NC~\r\n~09040~^~203~^1.09^5^0.022^~1~\r\n~09040~^~999~^5^\r\n~09040~^~205~^not-a-number^\r\n";
        let weight = b"~09040~^1^1^~cup, mashed~^225^^\r\n~09040~^2^1^~medium (7\" to 7-7/8\" long)~^118^^\r\n";
        let groups = b"~0900~^~Fruits and Fruit Juices~\r\n~1900~^~Sweets~\r\n";
        let release = parse(
            &food_des[..],
            &nut_data[..],
            NUTR_DEF,
            &weight[..],
            &groups[..],
        )
        .expect("parses");
        assert_eq!(release.foods.len(), 2);
        let banana = &release.foods[0];
        assert_eq!(
            (banana.per_100g.energy_kcal, banana.per_100g.protein_g),
            (Some(89.0), Some(1.09))
        );
        assert_eq!(banana.group, "Fruits and Fruit Juices");
        assert_eq!(banana.measures.len(), 2);
        assert_eq!(release.foods[1].name, "Crème brûlée");
        assert_eq!(
            release.skipped_lines, 2,
            "the garbage line and the unreadable value"
        );
    }

    #[test]
    fn a_release_without_the_expected_nutrient_units_is_refused() {
        let wrong = b"~208~^~kJ~^~ENERC_KJ~^~Energy~^~0~^~300~\r\n";
        let refused = parse(
            &b"~09040~^~0900~^~Bananas, raw~\r\n"[..],
            &b""[..],
            &wrong[..],
            &b""[..],
            &b""[..],
        );
        assert!(matches!(refused, Err(ImportError::Invalid(_))));
    }
}

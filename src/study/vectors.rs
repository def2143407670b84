//! The embedding vectors of a student's document chunks held in memory for the
//! nearest-chunk scan of hybrid ranking: one contiguous block of unit-length `f32` per
//! (user, model), loaded from the store on first use and dropped whenever that user's
//! vectors change. Bounded in bytes; the least recently loaded block goes first.
//!
//! This file owns no rows and must not write the store: `documents` loads, stores and
//! tells it when to forget.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Bytes of vectors kept in memory across all users (a 10,000-chunk student at 1,536
/// dimensions is 61 MB).
const CACHE_BYTES: usize = 512 * 1024 * 1024;

/// A user's vectors of one model, row by row.
pub struct VectorIndex {
    pub dimensions: usize,
    pub chunk_ids: Vec<i64>,
    /// Index into `document_ids` per row.
    pub documents: Vec<u32>,
    pub document_ids: Vec<String>,
    /// `chunk_ids.len() × dimensions` values, each row of unit length.
    pub values: Vec<f32>,
}

impl VectorIndex {
    pub fn new(dimensions: usize) -> Self {
        Self {
            dimensions,
            chunk_ids: Vec::new(),
            documents: Vec::new(),
            document_ids: Vec::new(),
            values: Vec::new(),
        }
    }

    /// Adds a row from its stored bytes; rows of another length are skipped.
    pub fn push(&mut self, chunk_id: i64, document_id: &str, bytes: &[u8]) {
        if bytes.len() != self.dimensions * 4 {
            return;
        }
        let document = match self.document_ids.iter().position(|d| d == document_id) {
            Some(at) => at,
            None => {
                self.document_ids.push(document_id.to_string());
                self.document_ids.len() - 1
            }
        };
        self.chunk_ids.push(chunk_id);
        self.documents.push(document as u32);
        self.values.extend(
            bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        );
    }

    fn bytes(&self) -> usize {
        self.values.len() * 4 + self.chunk_ids.len() * 12
    }

    /// The `limit` rows nearest the unit vector `query` with at least `min_similarity`,
    /// best first, as (similarity, chunk id); only rows of `document_id` when given.
    pub fn nearest(
        &self,
        query: &[f32],
        document_id: Option<&str>,
        limit: usize,
        min_similarity: f32,
    ) -> Vec<(f32, i64)> {
        if query.len() != self.dimensions || limit == 0 || self.dimensions == 0 {
            return Vec::new();
        }
        let only = match document_id {
            Some(id) => match self.document_ids.iter().position(|d| d == id) {
                Some(at) => Some(at as u32),
                None => return Vec::new(),
            },
            None => None,
        };
        let mut best: Vec<(f32, i64)> = Vec::with_capacity(limit + 1);
        for (row, values) in self.values.chunks_exact(self.dimensions).enumerate() {
            if only.is_some_and(|d| self.documents[row] != d) {
                continue;
            }
            let score = dot(values, query);
            if score < min_similarity
                || (best.len() == limit && best.last().is_some_and(|(s, _)| score <= *s))
            {
                continue;
            }
            let at = best.partition_point(|(s, _)| *s >= score);
            best.insert(at, (score, self.chunk_ids[row]));
            best.truncate(limit);
        }
        best
    }
}

/// Eight running sums so the compiler can keep them in vector registers.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut sums = [0.0f32; 8];
    let (a_body, a_tail) = a.split_at(a.len() / 8 * 8);
    let (b_body, b_tail) = b.split_at(a_body.len());
    for (x, y) in a_body.chunks_exact(8).zip(b_body.chunks_exact(8)) {
        for i in 0..8 {
            sums[i] += x[i] * y[i];
        }
    }
    let tail: f32 = a_tail.iter().zip(b_tail).map(|(x, y)| x * y).sum();
    sums.iter().sum::<f32>() + tail
}

/// `vector` scaled to unit length, as little-endian bytes; `None` for a zero vector.
pub fn unit_vector_bytes(vector: &[f32]) -> Option<Vec<u8>> {
    let unit = unit(vector)?;
    Some(unit.iter().flat_map(|x| x.to_le_bytes()).collect())
}

/// `vector` scaled to unit length; `None` for a zero or non-finite one.
pub fn unit(vector: &[f32]) -> Option<Vec<f32>> {
    let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
    norm.is_normal()
        .then(|| vector.iter().map(|x| x / norm).collect())
}

type Key = (String, String);

/// The loaded indexes, with a generation that every change bumps so a load that raced a
/// change is used once but not kept.
#[derive(Default)]
pub struct VectorCache {
    entries: Mutex<Entries>,
    generation: AtomicU64,
}

#[derive(Default)]
struct Entries {
    indexes: HashMap<Key, Arc<VectorIndex>>,
    loaded: VecDeque<Key>,
    bytes: usize,
}

impl VectorCache {
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub fn get(&self, user: &str, model: &str) -> Option<Arc<VectorIndex>> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .indexes
            .get(&(user.to_string(), model.to_string()))
            .cloned()
    }

    /// Keeps `index` if nothing changed since `generation` was read before loading it.
    pub fn keep(&self, user: &str, model: &str, index: Arc<VectorIndex>, generation: u64) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if self.generation() != generation || index.bytes() > CACHE_BYTES {
            return;
        }
        let key = (user.to_string(), model.to_string());
        entries.bytes += index.bytes();
        if let Some(old) = entries.indexes.insert(key.clone(), index) {
            entries.bytes -= old.bytes();
            entries.loaded.retain(|k| k != &key);
        }
        entries.loaded.push_back(key);
        while entries.bytes > CACHE_BYTES {
            let Some(oldest) = entries.loaded.pop_front() else {
                break;
            };
            if let Some(gone) = entries.indexes.remove(&oldest) {
                entries.bytes -= gone.bytes();
            }
        }
    }

    /// Drops every index of `user`: their vectors changed.
    pub fn forget(&self, user: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        let gone: Vec<Key> = entries
            .indexes
            .keys()
            .filter(|(u, _)| u == user)
            .cloned()
            .collect();
        for key in gone {
            if let Some(index) = entries.indexes.remove(&key) {
                entries.bytes -= index.bytes();
            }
            entries.loaded.retain(|k| k != &key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(rows: &[(i64, &str, [f32; 2])]) -> VectorIndex {
        let mut index = VectorIndex::new(2);
        for (id, document, vector) in rows {
            let bytes = unit_vector_bytes(vector).expect("non-zero");
            index.push(*id, document, &bytes);
        }
        index
    }

    #[test]
    fn the_nearest_rows_come_best_first_above_the_floor_and_within_a_document() {
        let index = index(&[
            (1, "a", [1.0, 0.0]),
            (2, "a", [0.0, 1.0]),
            (3, "b", [1.0, 0.1]),
            (4, "b", [-1.0, 0.0]),
        ]);
        let query = unit(&[1.0, 0.05]).expect("unit");
        let all = index.nearest(&query, None, 2, -1.0);
        assert_eq!(
            all.iter().map(|(_, id)| *id).collect::<Vec<_>>(),
            vec![3, 1]
        );
        let in_a = index.nearest(&query, Some("a"), 5, 0.5);
        assert_eq!(in_a.iter().map(|(_, id)| *id).collect::<Vec<_>>(), vec![1]);
        assert!(index.nearest(&query, Some("nope"), 5, -1.0).is_empty());
        assert!(index.nearest(&[1.0], None, 5, -1.0).is_empty());
        // A row of another length is not taken in.
        let mut mixed = VectorIndex::new(2);
        mixed.push(9, "a", &[0u8; 12]);
        assert!(mixed.chunk_ids.is_empty());
    }

    #[test]
    fn unit_vectors_and_the_dot_product_agree() {
        let a = unit(&[3.0, 4.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 12.0]).expect("unit");
        assert!((dot(&a, &a) - 1.0).abs() < 1e-6);
        assert_eq!(unit(&[0.0, 0.0]), None);
        assert_eq!(unit_vector_bytes(&[3.0, 4.0]).map(|b| b.len()), Some(8));
    }

    #[test]
    fn a_change_drops_the_users_indexes_and_a_racing_load_is_not_kept() {
        let cache = VectorCache::default();
        let before = cache.generation();
        cache.keep("ada", "m", Arc::new(index(&[(1, "a", [1.0, 0.0])])), before);
        assert!(cache.get("ada", "m").is_some());
        cache.keep("bob", "m", Arc::new(index(&[(2, "b", [1.0, 0.0])])), before);
        cache.forget("ada");
        assert!(cache.get("ada", "m").is_none());
        assert!(cache.get("bob", "m").is_some());
        // Loaded before the change, offered after it: not kept.
        cache.keep("ada", "m", Arc::new(index(&[(1, "a", [1.0, 0.0])])), before);
        assert!(cache.get("ada", "m").is_none());
    }
}

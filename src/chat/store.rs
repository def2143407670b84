//! Chat sessions and their messages, per user. Message text is health conversation, so it
//! is sealed at rest with the session, its owner and the message's place as associated
//! data. Every query is scoped by the owner; this file must not route or call a model.

use std::sync::Arc;

use rusqlite::{OptionalExtension, params};
use schemars::JsonSchema;
use serde::Serialize;

use crate::identity::{Clock, UserId};
use crate::llm::{Role, ServedBy, TokenUsage};
use crate::secrets::{self, MasterKey};
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("a chat message could not be sealed or opened")]
    Sealing,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ChatSession {
    pub id: String,
    pub title: String,
    pub created_at: String,
    pub updated_at: String,
    pub messages: u64,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ChatMessage {
    pub seq: u64,
    pub role: Role,
    pub content: String,
    /// Who answered, for the assistant's messages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    pub created_at: String,
}

/// One exchange to store: the user's message and the reply that answered it.
pub struct Exchange {
    pub question: String,
    pub answer: String,
    pub served_by: ServedBy,
    pub usage: TokenUsage,
}

#[derive(Clone)]
pub struct Chats {
    store: Store,
    master: Arc<MasterKey>,
    clock: Arc<dyn Clock>,
}

/// The sealed chat messages, for master key rotation.
pub const SEALED_CHAT_MESSAGES: crate::secrets::rotation::SealedColumn =
    crate::secrets::rotation::SealedColumn {
        name: "chat message",
        table: "chat_messages",
        column: "sealed",
        select: "SELECT m.rowid, m.sealed, m.session_id, s.user_id, m.seq
                 FROM chat_messages m JOIN chat_sessions s ON s.id = m.session_id",
        associated_data: |row| {
            let (session, owner, seq): (String, String, i64) =
                (row.get(2)?, row.get(3)?, row.get(4)?);
            Ok(associated_data(
                &session,
                &owner,
                u64::try_from(seq).unwrap_or(0),
            ))
        },
    };

fn associated_data(session: &str, owner: &str, seq: u64) -> Vec<u8> {
    format!("chat:{session}:{owner}:{seq}").into_bytes()
}

const SESSION_COLUMNS: &str = "s.id, s.title, s.created_at, s.updated_at,
     (SELECT COUNT(*) FROM chat_messages m WHERE m.session_id = s.id)";

fn session_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<ChatSession> {
    Ok(ChatSession {
        id: row.get(0)?,
        title: row.get(1)?,
        created_at: row.get(2)?,
        updated_at: row.get(3)?,
        messages: u64::try_from(row.get::<_, i64>(4)?).unwrap_or(0),
    })
}

impl Chats {
    pub fn new(store: Store, master: Arc<MasterKey>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            master,
            clock,
        }
    }

    /// The owner's sessions, most recently used first.
    pub async fn list(&self, owner: &UserId, limit: u32) -> Result<Vec<ChatSession>, ChatError> {
        let owner = owner.to_string();
        Ok(self
            .store
            .read(move |c| {
                let mut statement = c.prepare(&format!(
                    "SELECT {SESSION_COLUMNS} FROM chat_sessions s WHERE s.user_id = ?1
                     ORDER BY s.updated_at DESC, s.id LIMIT ?2"
                ))?;
                let rows = statement
                    .query_map(params![owner, limit], session_row)?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(rows)
            })
            .await?)
    }

    pub async fn session(
        &self,
        owner: &UserId,
        id: &str,
    ) -> Result<Option<ChatSession>, ChatError> {
        if uuid::Uuid::parse_str(id).is_err() {
            return Ok(None);
        }
        let (owner, id) = (owner.to_string(), id.to_string());
        Ok(self
            .store
            .read(move |c| {
                Ok(c.query_row(
                    &format!(
                        "SELECT {SESSION_COLUMNS} FROM chat_sessions s WHERE s.id = ?1 AND s.user_id = ?2"
                    ),
                    params![id, owner],
                    session_row,
                )
                .optional()?)
            })
            .await?)
    }

    /// The last `limit` messages of the owner's session, oldest first.
    pub async fn messages(
        &self,
        owner: &UserId,
        id: &str,
        limit: u32,
    ) -> Result<Vec<ChatMessage>, ChatError> {
        let (owner_text, id_text) = (owner.to_string(), id.to_string());
        let rows = self
            .store
            .read(move |c| {
                let mut statement = c.prepare(
                    "SELECT m.seq, m.role, m.sealed, m.provider, m.model, m.source, m.created_at
                     FROM chat_messages m JOIN chat_sessions s ON s.id = m.session_id
                     WHERE m.session_id = ?1 AND s.user_id = ?2
                     ORDER BY m.seq DESC LIMIT ?3",
                )?;
                let rows = statement
                    .query_map(params![id_text, owner_text, limit], |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, Vec<u8>>(2)?,
                            r.get::<_, Option<String>>(3)?,
                            r.get::<_, Option<String>>(4)?,
                            r.get::<_, Option<String>>(5)?,
                            r.get::<_, String>(6)?,
                        ))
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(rows)
            })
            .await?;
        let owner = owner.to_string();
        let mut messages = Vec::with_capacity(rows.len());
        for (seq, role, sealed, provider, model, source, created_at) in rows.into_iter().rev() {
            let seq = u64::try_from(seq).unwrap_or(0);
            let content =
                secrets::open_str(&self.master, &sealed, &associated_data(id, &owner, seq))
                    .map_err(|_| ChatError::Sealing)?;
            messages.push(ChatMessage {
                seq,
                role: if role == "assistant" {
                    Role::Assistant
                } else {
                    Role::User
                },
                content: content.to_string(),
                provider,
                model,
                source,
                created_at,
            });
        }
        Ok(messages)
    }

    /// Stores one exchange in a session, creating the session (titled `title`) when `id`
    /// is `None`. Both messages land in one transaction or neither does.
    pub async fn append(
        &self,
        owner: &UserId,
        id: Option<&str>,
        title: &str,
        exchange: Exchange,
    ) -> Result<String, ChatError> {
        let now = self.clock.now().to_rfc3339();
        let owner_text = owner.to_string();
        let (session, next) = match id {
            Some(id) => {
                let (owner_q, id_q) = (owner_text.clone(), id.to_string());
                let next: i64 = self
                    .store
                    .read(move |c| {
                        Ok(c.query_row(
                            "SELECT COALESCE(MAX(m.seq), 0) FROM chat_messages m
                             JOIN chat_sessions s ON s.id = m.session_id
                             WHERE m.session_id = ?1 AND s.user_id = ?2",
                            params![id_q, owner_q],
                            |r| r.get(0),
                        )?)
                    })
                    .await?;
                (id.to_string(), u64::try_from(next).unwrap_or(0) + 1)
            }
            None => (uuid::Uuid::new_v4().to_string(), 1),
        };
        let seal = |seq: u64, text: &str| {
            secrets::seal_str(
                &self.master,
                text,
                &associated_data(&session, &owner_text, seq),
            )
            .map_err(|_| ChatError::Sealing)
        };
        let question = seal(next, &exchange.question)?;
        let answer = seal(next + 1, &exchange.answer)?;
        let (session_id, create, title) = (session.clone(), id.is_none(), title.to_string());
        let served = exchange.served_by;
        let usage = exchange.usage;
        self.store
            .write(move |tx| {
                if create {
                    tx.execute(
                        "INSERT INTO chat_sessions (id, user_id, title, created_at, updated_at)
                         VALUES (?1, ?2, ?3, ?4, ?4)",
                        params![session_id, owner_text, title, now],
                    )?;
                } else {
                    let touched = tx.execute(
                        "UPDATE chat_sessions SET updated_at = ?3 WHERE id = ?1 AND user_id = ?2",
                        params![session_id, owner_text, now],
                    )?;
                    if touched == 0 {
                        return Err(StoreError::Sqlite(rusqlite::Error::QueryReturnedNoRows));
                    }
                }
                tx.execute(
                    "INSERT INTO chat_messages (session_id, seq, role, sealed, created_at)
                     VALUES (?1, ?2, 'user', ?3, ?4)",
                    params![session_id, next as i64, question, now],
                )?;
                tx.execute(
                    "INSERT INTO chat_messages (session_id, seq, role, sealed, provider, model,
                         source, tokens_in, tokens_out, created_at)
                     VALUES (?1, ?2, 'assistant', ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                    params![
                        session_id,
                        (next + 1) as i64,
                        answer,
                        served.provider,
                        served.model,
                        served.source.as_str(),
                        usage.input as i64,
                        usage.output as i64,
                        now
                    ],
                )?;
                Ok(())
            })
            .await?;
        Ok(session)
    }
}

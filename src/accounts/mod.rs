//! The signed-in caller's own account: who they are (`whoami`), their API keys (create,
//! list, revoke, rotate; admins may do the same for anyone), and their usage against their
//! plan (`consilium://usage/me`; `consilium://usage/platform` for admins).
//!
//! Every operation here acts as a [`Principal`](crate::identity::Principal) and is scoped by
//! it: a user reaches only their own keys and usage. Operations that change something are
//! written to the audit log by the functions in [`keys`], which the command line calls too,
//! so a key made from a terminal leaves the same record as one made by a client. Nothing
//! here logs, audits or returns a key's secret except the one answer that creates it.

pub mod keys;
mod tools;
mod usage;
mod views;

pub use keys::Requester;
pub use tools::{register, requester};
pub use views::{ApiKeyView, CreatedKey, UserView};

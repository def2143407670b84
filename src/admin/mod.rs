//! Administration: listing users, changing plans, resetting usage, disabling and enabling
//! accounts, unlocking them, and querying the audit log — as MCP tools that only principals
//! with the `admin` scope see, and as `consilium admin …` on the command line. Both call the
//! functions in [`ops`], so every admin action leaves the same audit record however it was
//! made.
//!
//! It must not bypass the identity, metering or audit services: it asks them.

pub mod ops;
mod tools;

pub use tools::register;

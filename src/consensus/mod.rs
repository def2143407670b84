//! Multi-model consensus. So far: measuring agreement between answers (`agreement`: the
//! fast path, clustering, agreement and semantic entropy), and the trust certificates that record a consensus run's
//! findings by digest, signed with the server's Ed25519 consensus key, checkable offline by
//! anyone with the public keys at `consilium://keys/jwks.json`, and the `verify_certificate`
//! tool. The panel itself (asking several models, measuring agreement) builds on this.

pub mod agreement;
pub mod certificate;
mod tools;

pub use tools::register;

#[cfg(test)]
mod tests;

//! Tests of the meter against a real store on disk, a manual wall clock and
//! a manual monotonic clock. Test-only.

mod limits;
mod rates;
mod recording;
mod reports;
mod support;

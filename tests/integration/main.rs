//! The one integration-test binary (one link of polars, not one per file).

mod bad_inputs;
mod cli;
mod common;
mod continuation;
mod conversations;
mod examples;
mod finance;
mod fuzz_corpus;
mod layers;
mod partitions;
mod pricing;
mod properties;
mod reports;
mod sources;
mod spark;
mod staffing;
mod tiers;
mod trust;

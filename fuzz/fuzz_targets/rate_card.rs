#![no_main]
//! `window_ledger::fuzzing::rate_card` on arbitrary bytes: Ok or an input error,
//! every row accounted for, never a panic.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    window_ledger::fuzzing::rate_card(data);
});

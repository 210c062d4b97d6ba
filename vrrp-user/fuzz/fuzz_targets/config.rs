//! Configuration text (TOML) through validation, as `check-config` and `run` read it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| vrrp_user_fuzz::checks::config(data));

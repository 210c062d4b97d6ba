//! A keepalived.conf through `xvrrp import-keepalived`, its TOML through validation.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| vrrp_user_fuzz::checks::keepalived_import(data));

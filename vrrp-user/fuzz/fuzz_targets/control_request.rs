//! A control-socket request line through the daemon's parser, and back out through the CLI's.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| vrrp_user_fuzz::checks::control_request(data));

//! Fuzz targets for vrrp-user (`cargo xtask fuzz`); the invariants are in [`checks`].

pub mod checks;

//! xvrrp library

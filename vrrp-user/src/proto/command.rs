//! Operator commands: maintenance inputs to the state machine, fed through
//! [`VirtualRouter::handle_command`](super::VirtualRouter::handle_command).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::election::{OWNER_PRIORITY, RESIGN_PRIORITY};

/// What an operator asks of one virtual router.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Release mastership now (a Master resigns with a priority-0 advert) and stay Backup,
    /// whatever is heard, until [`Command::Promote`].
    Demote,
    /// End a demotion: back to the normal election.
    Promote,
    /// Use this priority instead of the configured (or tracked) one until
    /// [`Command::ResetPriority`].
    OverridePriority(OverridePriority),
    /// Drop the priority override.
    ResetPriority,
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Demote => f.write_str("demote"),
            Self::Promote => f.write_str("promote"),
            Self::OverridePriority(priority) => write!(f, "priority {priority}"),
            Self::ResetPriority => f.write_str("priority reset"),
        }
    }
}

/// A priority an operator may set: 1..=254. 0 means "resign" on the wire and 255 "address
/// owner"; neither is a priority to run an election with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct OverridePriority(u8);

impl OverridePriority {
    /// The value.
    pub fn get(self) -> u8 {
        self.0
    }
}

impl TryFrom<u8> for OverridePriority {
    type Error = InvalidOverridePriority;

    fn try_from(priority: u8) -> Result<Self, Self::Error> {
        if priority == RESIGN_PRIORITY || priority == OWNER_PRIORITY {
            Err(InvalidOverridePriority(priority))
        } else {
            Ok(Self(priority))
        }
    }
}

impl From<OverridePriority> for u8 {
    fn from(priority: OverridePriority) -> Self {
        priority.0
    }
}

impl fmt::Display for OverridePriority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A priority outside 1..=254.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("priority {0} cannot be set: use 1..=254 (0 means resign, 255 is the address owner's)")]
pub struct InvalidOverridePriority(pub u8);

/// Why a command was not applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CommandRefused {
    /// The address owner's priority is 255 by definition (RFC 9568 §5.2.4): overriding it
    /// would make it a different kind of router. Demote it instead.
    #[error(
        "this router is the address owner: its priority is 255 by definition and cannot be \
         overridden (demote it to hand mastership over)"
    )]
    OwnerPriority,
}

/// What a command changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// The command changed the router.
    Applied,
    /// It was in effect already (demote while demoted, reset without override, ...).
    AlreadyInEffect,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn override_priorities_exclude_zero_and_owner() {
        assert_eq!(
            OverridePriority::try_from(0),
            Err(InvalidOverridePriority(0))
        );
        assert_eq!(
            OverridePriority::try_from(255),
            Err(InvalidOverridePriority(255))
        );
        assert_eq!(
            OverridePriority::try_from(1).map(OverridePriority::get),
            Ok(1)
        );
        assert_eq!(
            OverridePriority::try_from(254).map(OverridePriority::get),
            Ok(254)
        );
        let parsed: Result<OverridePriority, _> = serde_json::from_str("255");
        assert!(parsed.is_err());
        assert_eq!(
            serde_json::to_string(&OverridePriority(7)).expect("serialize"),
            "7"
        );
    }
}

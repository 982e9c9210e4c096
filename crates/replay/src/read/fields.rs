//! The names under which a `jsonl` object or a CSV header holds each part of a record.
//!
//! A user's own log rarely says `t` and `outcome`; naming its fields (`ts`, `code`,
//! `request_time`) lets it be replayed as it is, without a conversion step that would cost a
//! second pass over a large file.

use std::fmt;
use std::str::FromStr;

/// The field names of the four roles a record's parts play: its start `t`, its `outcome`, its
/// HTTP `status` (used when there is no outcome) and its `duration`.
///
/// Parsed from `role=name` pairs separated by commas; roles not named keep their default name.
///
/// ```
/// use breaker_replay::read::Fields;
///
/// let fields: Fields = "t=ts,status=code,duration=request_time".parse()?;
/// assert_eq!(fields.t, "ts");
/// assert_eq!(fields.outcome, "outcome");
/// assert_eq!(fields.status, "code");
/// assert_eq!(fields.duration, "request_time");
/// assert!("colour=red".parse::<Fields>().is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Fields {
    /// The call's start: seconds (any origin) or an RFC 3339 time. Default `t`.
    pub t: String,
    /// `success`, `failure` or `ignored`. Default `outcome`.
    pub outcome: String,
    /// An HTTP status, classified when there is no outcome. Default `status`.
    pub status: String,
    /// The call's duration in seconds, 0 when absent. Default `duration`.
    pub duration: String,
}

impl Default for Fields {
    fn default() -> Self {
        Self {
            t: "t".to_owned(),
            outcome: "outcome".to_owned(),
            status: "status".to_owned(),
            duration: "duration".to_owned(),
        }
    }
}

/// The role a field plays in a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    T,
    Outcome,
    Status,
    Duration,
}

impl Fields {
    /// The role of the field named `name`, if it plays one.
    pub(crate) fn role(&self, name: &str) -> Option<Role> {
        if name == self.t {
            Some(Role::T)
        } else if name == self.outcome {
            Some(Role::Outcome)
        } else if name == self.status {
            Some(Role::Status)
        } else if name == self.duration {
            Some(Role::Duration)
        } else {
            None
        }
    }

    fn slot(&mut self, role: &str) -> Option<&mut String> {
        match role {
            "t" => Some(&mut self.t),
            "outcome" => Some(&mut self.outcome),
            "status" => Some(&mut self.status),
            "duration" => Some(&mut self.duration),
            _ => None,
        }
    }
}

impl fmt::Display for Fields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "t={},outcome={},status={},duration={}",
            self.t, self.outcome, self.status, self.duration
        )
    }
}

/// Why a `--fields` value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FieldsError(String);

impl FromStr for Fields {
    type Err = FieldsError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut fields = Fields::default();
        let mut given: Vec<&str> = Vec::new();
        for pair in s.split(',') {
            let pair = pair.trim();
            let Some((role, name)) = pair.split_once('=') else {
                return Err(FieldsError(format!(
                    "{pair:?} is not role=name (roles: t, outcome, status, duration)"
                )));
            };
            let (role, name) = (role.trim(), name.trim());
            if name.is_empty() {
                return Err(FieldsError(format!("the field for {role:?} has no name")));
            }
            if given.contains(&role) {
                return Err(FieldsError(format!("the role {role:?} is named twice")));
            }
            let Some(slot) = fields.slot(role) else {
                return Err(FieldsError(format!(
                    "unknown role {role:?}: expected t, outcome, status or duration"
                )));
            };
            name.clone_into(slot);
            given.push(role);
        }
        let names = [&fields.t, &fields.outcome, &fields.status, &fields.duration];
        for (i, name) in names.iter().enumerate() {
            if names[..i].contains(name) {
                return Err(FieldsError(format!(
                    "the field {name:?} is given two roles"
                )));
            }
        }
        Ok(fields)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unnamed_roles_keep_their_defaults() {
        let fields: Fields = "status=code".parse().unwrap();
        assert_eq!(
            fields,
            Fields {
                status: "code".to_owned(),
                ..Fields::default()
            }
        );
    }

    #[test]
    fn spaces_around_pairs_are_allowed() {
        let fields: Fields = " t = ts , duration=rt ".parse().unwrap();
        assert_eq!((fields.t.as_str(), fields.duration.as_str()), ("ts", "rt"));
    }

    #[test]
    fn display_parses_back() {
        let fields: Fields = "t=ts,outcome=o,status=code,duration=rt".parse().unwrap();
        assert_eq!(fields.to_string().parse::<Fields>(), Ok(fields));
    }

    #[test]
    fn bad_values_are_one_line_errors() {
        let cases = [
            (
                "colour=red",
                "unknown role \"colour\": expected t, outcome, status or duration",
            ),
            (
                "ts",
                "\"ts\" is not role=name (roles: t, outcome, status, duration)",
            ),
            (
                "",
                "\"\" is not role=name (roles: t, outcome, status, duration)",
            ),
            ("t=", "the field for \"t\" has no name"),
            ("t=a,t=b", "the role \"t\" is named twice"),
            ("t=x,status=x", "the field \"x\" is given two roles"),
            ("t=status", "the field \"status\" is given two roles"),
        ];
        for (input, message) in cases {
            let err = input.parse::<Fields>().unwrap_err();
            assert_eq!(err.to_string(), message, "{input:?}");
        }
    }

    #[test]
    fn each_name_has_its_role() {
        let fields: Fields = "t=ts,status=code".parse().unwrap();
        assert_eq!(fields.role("ts"), Some(Role::T));
        assert_eq!(fields.role("code"), Some(Role::Status));
        assert_eq!(fields.role("outcome"), Some(Role::Outcome));
        assert_eq!(fields.role("duration"), Some(Role::Duration));
        assert_eq!(fields.role("t"), None);
    }
}

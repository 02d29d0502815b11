//! IAM-style identity policies: `Effect`, `Action` / `NotAction` and `Resource` / `NotResource`
//! with `*` and `?` wildcards, evaluated as IAM does — an explicit Deny wins, then any Allow,
//! else the request is implicitly denied.

use serde::{Deserialize, Serialize};

use crate::AccessError;

/// A policy document (`{"Version": "2012-10-17", "Statement": [...]}`).
///
/// ```
/// use mantle_access::{Decision, PolicyDocument};
/// let policy = PolicyDocument::parse(r#"{
///   "Version": "2012-10-17",
///   "Statement": [
///     {"Effect": "Allow", "Action": "bedrock:InvokeModel*", "Resource": "*"},
///     {"Effect": "Deny", "Action": "bedrock:*", "Resource": "arn:aws:bedrock:*::foundation-model/secret-*"}
///   ]
/// }"#)?;
/// let model = "arn:aws:bedrock:us-east-1::foundation-model/smollm2";
/// assert_eq!(policy.decide("bedrock:InvokeModel", model), Decision::Allow);
/// assert_eq!(policy.decide("bedrock:CreateGuardrail", model), Decision::NotAllowed);
/// let secret = "arn:aws:bedrock:us-east-1::foundation-model/secret-model";
/// assert_eq!(policy.decide("bedrock:InvokeModel", secret), Decision::Deny);
/// # Ok::<(), mantle_access::AccessError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct PolicyDocument {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub statement: OneOrMany<Statement>,
}

/// One statement of a policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Statement {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    pub effect: Effect,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<OneOrMany<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_action: Option<OneOrMany<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<OneOrMany<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_resource: Option<OneOrMany<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Effect {
    Allow,
    Deny,
}

/// IAM's "a string or a list of strings".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

impl<T> OneOrMany<T> {
    pub fn as_slice(&self) -> &[T] {
        match self {
            Self::One(one) => std::slice::from_ref(one),
            Self::Many(many) => many,
        }
    }
}

/// What policies say about one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// An explicit Deny matched; no Allow can override it.
    Deny,
    /// Nothing allowed it.
    NotAllowed,
}

impl PolicyDocument {
    /// Parses and checks a document, naming what is wrong.
    pub fn parse(text: &str) -> Result<Self, AccessError> {
        let document: Self = serde_json::from_str(text)
            .map_err(|e| AccessError::invalid("policy", format!("not a policy document: {e}")))?;
        document.check()?;
        Ok(document)
    }

    /// A document's structural rules, as IAM's validator states them.
    pub fn check(&self) -> Result<(), AccessError> {
        if let Some(version) = &self.version
            && version != "2012-10-17"
            && version != "2008-10-17"
        {
            return Err(AccessError::invalid(
                "policy.Version",
                format!("{version} is not a policy language version (use 2012-10-17)"),
            ));
        }
        for (i, statement) in self.statement.as_slice().iter().enumerate() {
            let at = |field: &str| format!("policy.Statement[{i}].{field}");
            exactly_one(
                &statement.action,
                &statement.not_action,
                &at("Action"),
                "Action",
            )?;
            exactly_one(
                &statement.resource,
                &statement.not_resource,
                &at("Resource"),
                "Resource",
            )?;
            let actions = statement
                .action
                .iter()
                .chain(statement.not_action.iter())
                .flat_map(OneOrMany::as_slice);
            for action in actions {
                if action != "*" && !action.contains(':') {
                    return Err(AccessError::invalid(
                        at("Action"),
                        format!("{action:?} is not service:Action (e.g. bedrock:InvokeModel)"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// What this document says about `action` (`bedrock:InvokeModel`) on `resource` (an ARN).
    pub fn decide(&self, action: &str, resource: &str) -> Decision {
        let mut allowed = false;
        for statement in self.statement.as_slice() {
            if statement.matches(action, resource) {
                match statement.effect {
                    Effect::Deny => return Decision::Deny,
                    Effect::Allow => allowed = true,
                }
            }
        }
        if allowed {
            Decision::Allow
        } else {
            Decision::NotAllowed
        }
    }

    /// Everything on everything: what a key made without a policy holds.
    pub fn full_access() -> Self {
        Self {
            version: Some("2012-10-17".into()),
            id: None,
            statement: OneOrMany::One(Statement {
                sid: Some("MantleFullAccess".into()),
                effect: Effect::Allow,
                action: Some(OneOrMany::One("bedrock:*".into())),
                not_action: None,
                resource: Some(OneOrMany::One("*".into())),
                not_resource: None,
            }),
        }
    }
}

/// IAM's rule for `X` / `NotX`: a statement has one of the two.
fn exactly_one<T>(
    positive: &Option<T>,
    negative: &Option<T>,
    field: &str,
    name: &str,
) -> Result<(), AccessError> {
    match (positive, negative) {
        (Some(_), None) | (None, Some(_)) => Ok(()),
        (Some(_), Some(_)) => Err(AccessError::invalid(
            field,
            format!("a statement has {name} or Not{name}, not both"),
        )),
        (None, None) => Err(AccessError::invalid(
            field,
            format!("a statement needs {name} or Not{name}"),
        )),
    }
}

impl Statement {
    fn matches(&self, action: &str, resource: &str) -> bool {
        // Action names are case-insensitive in IAM; ARNs are not.
        let action_hit = |patterns: &OneOrMany<String>| {
            patterns
                .as_slice()
                .iter()
                .any(|p| wildcard(p.as_bytes(), action.as_bytes(), true))
        };
        let resource_hit = |patterns: &OneOrMany<String>| {
            patterns
                .as_slice()
                .iter()
                .any(|p| wildcard(p.as_bytes(), resource.as_bytes(), false))
        };
        let action_ok = match (&self.action, &self.not_action) {
            (Some(patterns), _) => action_hit(patterns),
            (None, Some(patterns)) => !action_hit(patterns),
            (None, None) => false,
        };
        let resource_ok = match (&self.resource, &self.not_resource) {
            (Some(patterns), _) => resource_hit(patterns),
            (None, Some(patterns)) => !resource_hit(patterns),
            (None, None) => false,
        };
        action_ok && resource_ok
    }
}

/// Glob matching with IAM's two wildcards: `*` (any run, `:` and `/` included) and `?` (one
/// byte; actions and ARNs are ASCII). Iterative with one backtrack point, so a pattern cannot
/// blow up, and allocation-free because it runs for every statement of every request.
fn wildcard(p: &[u8], t: &[u8], ignore_case: bool) -> bool {
    let same = |a: u8, b: u8| {
        if ignore_case {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && (p[pi] == b'?' || same(p[pi], t[ti])) {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(pattern: &str, text: &str) -> bool {
        wildcard(pattern.as_bytes(), text.as_bytes(), false)
    }

    #[test]
    fn wildcards_follow_iam() {
        assert!(w("*", ""));
        assert!(w("bedrock:*", "bedrock:InvokeModel"));
        assert!(w(
            "bedrock:Invoke*",
            "bedrock:InvokeModelWithResponseStream"
        ));
        assert!(w("bedrock:?nvokeModel", "bedrock:InvokeModel"));
        assert!(!w("bedrock:?nvokeModel", "bedrock:nvokeModel"));
        assert!(w(
            "arn:aws:bedrock:*:*:guardrail/*",
            "arn:aws:bedrock:us-east-1:123456789012:guardrail/abc"
        ));
        assert!(!w("bedrock:Get*", "bedrock:ListGuardrails"));
        assert!(w("a*b*c", "axxbyyc"));
        assert!(!w("a*b*c", "axxbyy"));
    }

    #[test]
    fn explicit_deny_wins_and_nothing_allowed_is_denied() {
        let policy = PolicyDocument::parse(
            r#"{"Statement": [
                {"Effect": "Allow", "Action": ["bedrock:*"], "Resource": "*"},
                {"Effect": "Deny", "NotAction": "bedrock:Get*", "Resource": "arn:aws:bedrock:*:*:flow/*"}
            ]}"#,
        )
        .unwrap();
        let flow = "arn:aws:bedrock:us-east-1:123456789012:flow/FL12345678";
        assert_eq!(policy.decide("bedrock:GetFlow", flow), Decision::Allow);
        assert_eq!(policy.decide("bedrock:DeleteFlow", flow), Decision::Deny);
        assert_eq!(policy.decide("BEDROCK:getflow", flow), Decision::Allow);
        // NotAction matches every action outside the list, other services' included.
        assert_eq!(policy.decide("s3:GetObject", flow), Decision::Deny);
        let model = "arn:aws:bedrock:us-east-1::foundation-model/m";
        assert_eq!(policy.decide("s3:GetObject", model), Decision::NotAllowed);
    }

    #[test]
    fn malformed_documents_are_refused_naming_the_field() {
        let cases = [
            (
                r#"{"Statement": {"Effect": "Allow", "Resource": "*"}}"#,
                "Action",
            ),
            (
                r#"{"Statement": {"Effect": "Allow", "Action": "bedrock:*"}}"#,
                "Resource",
            ),
            (
                r#"{"Statement": {"Effect": "Allow", "Action": "InvokeModel", "Resource": "*"}}"#,
                "Action",
            ),
            (
                r#"{"Version": "2020-01-01", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}"#,
                "Version",
            ),
            (
                r#"{"Statement": {"Effect": "Maybe", "Action": "*", "Resource": "*"}}"#,
                "policy",
            ),
        ];
        for (text, field) in cases {
            match PolicyDocument::parse(text) {
                Err(AccessError::Validation { field: f, .. }) => {
                    assert!(f.contains(field), "{text}: {f}")
                }
                other => panic!("{text}: {other:?}"),
            }
        }
    }
}

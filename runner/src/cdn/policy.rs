//! Whether a bucket policy lets CloudFront (signing with Origin Access Control on behalf of one distribution)
//! read a key: the part of IAM policy evaluation S3 applies to such a request. The emulator does not evaluate
//! bucket policies, so the runner does, before it reads the object: a distribution the policy does not name
//! gets what S3 gives CloudFront in AWS, `403 AccessDenied`.
//!
//! Evaluated as IAM does: an explicit `Deny` that applies wins, else an `Allow` that applies grants, else the
//! request is implicitly denied. Statements are matched on `Principal`/`NotPrincipal`, `Action`/`NotAction`
//! (case-insensitive, wildcards), `Resource`/`NotResource` (wildcards) and `Condition` over the keys such a
//! request carries (`aws:SourceArn`, `aws:SourceAccount`, `aws:SecureTransport`, `aws:PrincipalServiceName`).
//! A condition operator this module does not know makes an `Allow` not apply and a `Deny` apply: an unknown
//! rule never grants more than AWS would.

use serde_json::Value;
use wildmatch::WildMatch;

/// The request CloudFront makes to the origin bucket.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// `s3:GetObject` or `s3:ListBucket`.
    pub action: &'a str,
    /// `arn:aws:s3:::bucket/key` or `arn:aws:s3:::bucket`.
    pub resource: &'a str,
    /// The distribution's ARN: `arn:aws:cloudfront::<account>:distribution/<id>`.
    pub source_arn: &'a str,
}

impl Request<'_> {
    /// The condition keys this request carries (lower-case names), or None.
    fn key(&self, name: &str) -> Option<String> {
        match name.to_ascii_lowercase().as_str() {
            "aws:sourcearn" => Some(self.source_arn.to_owned()),
            "aws:sourceaccount" => self.source_arn.split(':').nth(4).map(str::to_owned),
            // CloudFront reaches S3 origins over HTTPS when it signs with OAC.
            "aws:securetransport" => Some("true".into()),
            "aws:principalservicename" => Some(SERVICE.into()),
            _ => None,
        }
    }
}

const SERVICE: &str = "cloudfront.amazonaws.com";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// A `Deny` statement applies (its `Sid`, if any).
    ExplicitDeny(Option<String>),
    /// No statement allows it.
    ImplicitDeny,
}

/// The decision for `request` under the bucket policy document `policy` (None: the bucket has no policy).
pub fn evaluate(policy: Option<&str>, request: &Request<'_>) -> Result<Decision, String> {
    let Some(policy) = policy else {
        return Ok(Decision::ImplicitDeny);
    };
    let doc: Value =
        serde_json::from_str(policy).map_err(|e| format!("the bucket policy is not JSON: {e}"))?;
    let statements = match doc.get("Statement") {
        Some(Value::Array(s)) => s.clone(),
        Some(s @ Value::Object(_)) => vec![s.clone()],
        _ => return Err("the bucket policy has no Statement".into()),
    };
    let mut allowed = false;
    for s in &statements {
        let effect = s.get("Effect").and_then(Value::as_str).unwrap_or_default();
        let deny = effect == "Deny";
        if !deny && effect != "Allow" {
            continue;
        }
        if applies(s, request, deny) {
            if deny {
                let sid = s.get("Sid").and_then(Value::as_str).map(str::to_owned);
                return Ok(Decision::ExplicitDeny(sid));
            }
            allowed = true;
        }
    }
    Ok(if allowed {
        Decision::Allow
    } else {
        Decision::ImplicitDeny
    })
}

/// Whether statement `s` applies to the request; `unknown_applies`: what an operator this module does not
/// know counts as.
fn applies(s: &Value, r: &Request<'_>, unknown_applies: bool) -> bool {
    let principal = match (s.get("Principal"), s.get("NotPrincipal")) {
        (Some(p), _) => principal_matches(p),
        (None, Some(p)) => !principal_matches(p),
        (None, None) => false,
    };
    let action = match (s.get("Action"), s.get("NotAction")) {
        (Some(a), _) => strings(a)
            .iter()
            .any(|p| WildMatch::new_case_insensitive(p).matches(r.action)),
        (None, Some(a)) => !strings(a)
            .iter()
            .any(|p| WildMatch::new_case_insensitive(p).matches(r.action)),
        (None, None) => false,
    };
    let resource = match (s.get("Resource"), s.get("NotResource")) {
        (Some(a), _) => strings(a)
            .iter()
            .any(|p| WildMatch::new(p).matches(r.resource)),
        (None, Some(a)) => !strings(a)
            .iter()
            .any(|p| WildMatch::new(p).matches(r.resource)),
        (None, None) => false,
    };
    principal
        && action
        && resource
        && s.get("Condition")
            .is_none_or(|c| conditions_hold(c, r, unknown_applies))
}

fn principal_matches(p: &Value) -> bool {
    match p {
        Value::String(s) => s == "*",
        Value::Object(m) => m.iter().any(|(kind, v)| {
            let names = strings(v);
            names.iter().any(|n| n == "*")
                || (kind == "Service" && names.iter().any(|n| n == SERVICE))
        }),
        _ => false,
    }
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        Value::Bool(b) => vec![b.to_string()],
        _ => Vec::new(),
    }
}

/// Every operator's every key must hold (AND); a key's values are alternatives (OR).
fn conditions_hold(c: &Value, r: &Request<'_>, unknown_applies: bool) -> bool {
    let Some(operators) = c.as_object() else {
        return unknown_applies;
    };
    operators.iter().all(|(op, keys)| {
        let Some(keys) = keys.as_object() else {
            return unknown_applies;
        };
        keys.iter().all(
            |(key, values)| match holds(op, r.key(key), &strings(values)) {
                Some(held) => held,
                None => unknown_applies,
            },
        )
    })
}

/// One operator over one key; None: an operator this module does not evaluate.
fn holds(op: &str, actual: Option<String>, values: &[String]) -> Option<bool> {
    let (op, if_exists) = match op.strip_suffix("IfExists") {
        Some(op) => (op, true),
        None => (op, false),
    };
    const KNOWN: [&str; 11] = [
        "StringEquals",
        "ArnEquals",
        "StringNotEquals",
        "ArnNotEquals",
        "StringEqualsIgnoreCase",
        "StringNotEqualsIgnoreCase",
        "StringLike",
        "ArnLike",
        "StringNotLike",
        "ArnNotLike",
        "Bool",
    ];
    if !KNOWN.contains(&op) {
        return None;
    }
    let Some(actual) = actual else {
        // A missing key: negated operators hold, the others do not (unless …IfExists).
        return Some(if_exists || op.contains("Not"));
    };
    let any = |f: &dyn Fn(&str) -> bool| values.iter().any(|v| f(v));
    Some(match op {
        "StringEquals" | "ArnEquals" => any(&|v| v == actual),
        "StringNotEquals" | "ArnNotEquals" => !any(&|v| v == actual),
        "StringEqualsIgnoreCase" => any(&|v| v.eq_ignore_ascii_case(&actual)),
        "StringNotEqualsIgnoreCase" => !any(&|v| v.eq_ignore_ascii_case(&actual)),
        "StringLike" | "ArnLike" => any(&|v| WildMatch::new(v).matches(&actual)),
        "StringNotLike" | "ArnNotLike" => !any(&|v| WildMatch::new(v).matches(&actual)),
        "Bool" => any(&|v| v.eq_ignore_ascii_case(&actual)),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const DIST: &str = "arn:aws:cloudfront::123456789012:distribution/E2ABC";
    const OTHER: &str = "arn:aws:cloudfront::123456789012:distribution/E9XYZ";

    fn get<'a>(key_arn: &'a str, source_arn: &'a str) -> Request<'a> {
        Request {
            action: "s3:GetObject",
            resource: key_arn,
            source_arn,
        }
    }

    /// The policy the storage module writes: TLS-only deny, then the distribution's read.
    fn module_policy() -> String {
        json!({
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": ["arn:aws:s3:::thumbs", "arn:aws:s3:::thumbs/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}}
                },
                {
                    "Sid": "CloudFrontReadsThroughOriginAccessControl",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudfront.amazonaws.com"},
                    "Action": "s3:GetObject",
                    "Resource": "arn:aws:s3:::thumbs/*",
                    "Condition": {"StringEquals": {"AWS:SourceArn": [DIST]}}
                }
            ]
        })
        .to_string()
    }

    #[test]
    fn the_named_distribution_reads_a_key_and_no_other_distribution_does() {
        let p = module_policy();
        let key = "arn:aws:s3:::thumbs/items/1/photo-512.jpg";
        assert_eq!(evaluate(Some(&p), &get(key, DIST)), Ok(Decision::Allow));
        assert_eq!(
            evaluate(Some(&p), &get(key, OTHER)),
            Ok(Decision::ImplicitDeny)
        );
    }

    #[test]
    fn get_object_does_not_grant_list_bucket_nor_other_buckets() {
        let p = module_policy();
        let list = Request {
            action: "s3:ListBucket",
            resource: "arn:aws:s3:::thumbs",
            source_arn: DIST,
        };
        assert_eq!(evaluate(Some(&p), &list), Ok(Decision::ImplicitDeny));
        assert_eq!(
            evaluate(Some(&p), &get("arn:aws:s3:::uploads/a.jpg", DIST)),
            Ok(Decision::ImplicitDeny)
        );
    }

    #[test]
    fn no_policy_grants_nothing_and_a_broken_one_is_an_error() {
        assert_eq!(
            evaluate(None, &get("arn:aws:s3:::thumbs/a", DIST)),
            Ok(Decision::ImplicitDeny)
        );
        assert!(evaluate(Some("{"), &get("arn:aws:s3:::thumbs/a", DIST)).is_err());
    }

    #[test]
    fn an_explicit_deny_wins_over_an_allow() {
        let p = json!({"Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "s3:Get*", "Resource": "*"},
            {"Sid": "NoPrivate", "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:GetObject",
             "Resource": "arn:aws:s3:::thumbs/private/*"}
        ]})
        .to_string();
        assert_eq!(
            evaluate(Some(&p), &get("arn:aws:s3:::thumbs/private/x", DIST)),
            Ok(Decision::ExplicitDeny(Some("NoPrivate".into())))
        );
        assert_eq!(
            evaluate(Some(&p), &get("arn:aws:s3:::thumbs/public/x", DIST)),
            Ok(Decision::Allow)
        );
    }

    #[test]
    fn arn_like_source_account_and_if_exists_conditions_are_evaluated() {
        let like = json!({"Statement": {"Effect": "Allow", "Principal": {"Service": ["cloudfront.amazonaws.com"]},
            "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::thumbs/*",
            "Condition": {"ArnLike": {"aws:SourceArn": "arn:aws:cloudfront::123456789012:distribution/E2*"},
                          "StringEquals": {"aws:SourceAccount": "123456789012"}}}})
        .to_string();
        assert_eq!(
            evaluate(Some(&like), &get("arn:aws:s3:::thumbs/k", DIST)),
            Ok(Decision::Allow)
        );
        assert_eq!(
            evaluate(Some(&like), &get("arn:aws:s3:::thumbs/k", OTHER)),
            Ok(Decision::ImplicitDeny)
        );
        let absent =
            json!({"Statement": {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
            "Resource": "*", "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1"}}}})
            .to_string();
        assert_eq!(
            evaluate(Some(&absent), &get("arn:aws:s3:::thumbs/k", DIST)),
            Ok(Decision::ImplicitDeny)
        );
        let if_exists = absent.replace("StringEquals", "StringEqualsIfExists");
        assert_eq!(
            evaluate(Some(&if_exists), &get("arn:aws:s3:::thumbs/k", DIST)),
            Ok(Decision::Allow)
        );
    }

    #[test]
    fn another_principal_or_an_unknown_operator_grants_nothing_and_an_unknown_deny_denies() {
        let user = json!({"Statement": {"Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "s3:GetObject", "Resource": "*"}})
        .to_string();
        assert_eq!(
            evaluate(Some(&user), &get("arn:aws:s3:::thumbs/k", DIST)),
            Ok(Decision::ImplicitDeny)
        );
        let unknown = json!({"Statement": {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
            "Resource": "*", "Condition": {"DateLessThan": {"aws:CurrentTime": "2099-01-01T00:00:00Z"}}}})
        .to_string();
        assert_eq!(
            evaluate(Some(&unknown), &get("arn:aws:s3:::thumbs/k", DIST)),
            Ok(Decision::ImplicitDeny)
        );
        let unknown_deny = unknown.replace("\"Allow\"", "\"Deny\"");
        assert_eq!(
            evaluate(Some(&unknown_deny), &get("arn:aws:s3:::thumbs/k", DIST)),
            Ok(Decision::ExplicitDeny(None))
        );
    }
}

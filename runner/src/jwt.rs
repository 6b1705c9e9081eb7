//! The JWT authorizer of an HTTP API, enforced as API Gateway does: the token (with or without `Bearer `)
//! must be signed by a key of the issuer's JWKS, come from the configured issuer, be unexpired, and carry one
//! of the configured audiences in `aud` (ID tokens) or `client_id` (access tokens). Anything else is a 401.

use std::sync::RwLock;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

use crate::discover::Jwt;

#[derive(Debug)]
pub struct Authorizer {
    config: Jwt,
    jwks_url: String,
    keys: RwLock<Option<JwkSet>>,
    http: reqwest::Client,
}

/// Why a request was refused (logged; the client only sees 401).
#[derive(Debug, PartialEq, Eq)]
pub struct Refused(pub String);

impl Authorizer {
    /// `endpoint`: the emulator, which serves a Cognito issuer's JWKS under `/<pool-id>/.well-known/jwks.json`.
    pub fn new(config: Jwt, endpoint: &str) -> Self {
        let jwks_url = jwks_url(&config.issuer, endpoint);
        Self {
            config,
            jwks_url,
            keys: RwLock::new(None),
            http: reqwest::Client::new(),
        }
    }

    /// The token's claims, as API Gateway passes them on (`requestContext.authorizer.jwt.claims`).
    pub async fn authorize(&self, header: Option<&str>) -> Result<Map<String, Value>, Refused> {
        let header = header.ok_or_else(|| Refused("no Authorization header".into()))?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .unwrap_or(header)
            .trim();
        let kid = decode_header(token)
            .map_err(|e| Refused(format!("not a JWT: {e}")))?
            .kid
            .ok_or_else(|| Refused("the token names no key (kid)".into()))?;
        let key = self.key(&kid).await?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[&self.config.issuer]);
        validation.validate_aud = false;
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "iss"]);
        let claims = decode::<Map<String, Value>>(token, &key, &validation)
            .map_err(|e| Refused(format!("token refused: {e}")))?
            .claims;
        let audience_ok = ["aud", "client_id"]
            .iter()
            .any(|claim| match &claims.get(*claim) {
                Some(Value::String(a)) => self.config.audience.contains(a),
                Some(Value::Array(list)) => list.iter().any(|a| {
                    a.as_str()
                        .is_some_and(|a| self.config.audience.iter().any(|x| x == a))
                }),
                _ => false,
            });
        if !audience_ok {
            return Err(Refused(
                "the token's audience / client_id is not the API's".into(),
            ));
        }
        Ok(claims)
    }

    async fn key(&self, kid: &str) -> Result<DecodingKey, Refused> {
        for refresh in [false, true] {
            if refresh || self.keys.read().map(|k| k.is_none()).unwrap_or(true) {
                let set: JwkSet = self
                    .http
                    .get(&self.jwks_url)
                    .send()
                    .await
                    .and_then(reqwest::Response::error_for_status)
                    .map_err(|e| Refused(format!("JWKS {} unavailable: {e}", self.jwks_url)))?
                    .json()
                    .await
                    .map_err(|e| Refused(format!("JWKS {} unreadable: {e}", self.jwks_url)))?;
                if let Ok(mut keys) = self.keys.write() {
                    *keys = Some(set);
                }
            }
            let found = self
                .keys
                .read()
                .ok()
                .and_then(|k| k.as_ref().and_then(|s| s.find(kid).cloned()));
            if let Some(jwk) = found {
                return DecodingKey::from_jwk(&jwk)
                    .map_err(|e| Refused(format!("key {kid} unusable: {e}")));
            }
        }
        Err(Refused(format!("no key {kid} in the issuer's JWKS")))
    }
}

/// Where the issuer's keys are: `<issuer>/.well-known/jwks.json`; for a Cognito issuer, on the emulator.
pub fn jwks_url(issuer: &str, endpoint: &str) -> String {
    let issuer = issuer.trim_end_matches('/');
    match issuer.strip_prefix("https://") {
        Some(rest) if rest.starts_with("cognito-idp.") && rest.contains(".amazonaws.com/") => {
            let pool = rest.split_once('/').map(|(_, p)| p).unwrap_or_default();
            format!(
                "{}/{pool}/.well-known/jwks.json",
                endpoint.trim_end_matches('/')
            )
        }
        _ => format!("{issuer}/.well-known/jwks.json"),
    }
}

/// Claims as API Gateway hands them to the integration: every value a string (lists as `[a b]`).
pub fn gateway_claims(claims: &Map<String, Value>) -> Map<String, Value> {
    claims
        .iter()
        .map(|(k, v)| {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Array(items) => format!(
                    "[{}]",
                    items
                        .iter()
                        .map(|i| i
                            .as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| i.to_string()))
                        .collect::<Vec<_>>()
                        .join(" ")
                ),
                other => other.to_string(),
            };
            (k.clone(), Value::String(text))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn cognito_keys_are_looked_up_on_the_emulator() {
        assert_eq!(
            jwks_url(
                "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc",
                "http://127.0.0.1:4566"
            ),
            "http://127.0.0.1:4566/eu-west-1_abc/.well-known/jwks.json"
        );
        assert_eq!(
            jwks_url("https://auth.example.com/", "http://127.0.0.1:4566"),
            "https://auth.example.com/.well-known/jwks.json"
        );
    }

    #[test]
    fn claims_reach_the_function_as_strings() {
        let claims = json!({"sub": "u1", "exp": 1795000000, "cognito:groups": ["a", "b"], "email_verified": true});
        let out = gateway_claims(claims.as_object().expect("object"));
        assert_eq!(out["sub"], "u1");
        assert_eq!(out["exp"], "1795000000");
        assert_eq!(out["cognito:groups"], "[a b]");
        assert_eq!(out["email_verified"], "true");
    }
}

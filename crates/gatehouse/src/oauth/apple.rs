//! Sign in with Apple's client secret: a JWT the client signs with the team's ES256 key
//! (`iss` = team id, `sub` = client id, `aud` = https://appleid.apple.com, header `kid` =
//! key id), made fresh for each request and valid five minutes.

use super::OAuthError;
use crate::crypto::jws::SigningKey;
use crate::crypto::pem;

const AUDIENCE: &str = "https://appleid.apple.com";
const LIFETIME_S: i64 = 300;

pub struct AppleSecret {
    key: SigningKey,
    team_id: String,
    client_id: String,
}

impl AppleSecret {
    pub fn new(
        team_id: &str,
        key_id: &str,
        client_id: &str,
        pem_text: &str,
    ) -> Result<Self, String> {
        let key = pem::es256_signing_key(pem_text, key_id).map_err(|e| e.to_string())?;
        Ok(AppleSecret {
            key,
            team_id: team_id.to_string(),
            client_id: client_id.to_string(),
        })
    }

    /// The client secret to send at `now` (epoch ms).
    pub fn client_secret(&self, now: i64) -> Result<String, OAuthError> {
        let iat = now / 1000;
        let claims = serde_json::json!({
            "iss": self.team_id,
            "iat": iat,
            "exp": iat + LIFETIME_S,
            "aud": AUDIENCE,
            "sub": self.client_id,
        });
        self.key.sign_compact(&claims).map_err(|e| {
            OAuthError::new(
                "token",
                format!("could not sign Apple's client secret: {e}"),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::jws::{verify_compact, Algorithm};

    #[test]
    fn the_client_secret_is_an_es256_jwt_apple_can_verify() {
        let key = SigningKey::generate(Algorithm::ES256, "x".into()).unwrap();
        let pem_text = pem::to_pem(&key.pkcs8_der());
        let secret = AppleSecret::new("TEAM123", "KEY456", "com.example.web", &pem_text).unwrap();
        let jwt = secret.client_secret(1_800_000_000_000).unwrap();
        let (header, _) = crate::crypto::jws::decode_unverified(&jwt).unwrap();
        assert_eq!(header.alg, "ES256");
        assert_eq!(header.kid.as_deref(), Some("KEY456"));
        let mut jwk = key.public_jwk();
        jwk["kid"] = "KEY456".into();
        let verifying = crate::crypto::jws::VerifyingKey::from_jwk(&jwk).unwrap();
        let claims = verify_compact(&jwt, &[verifying]).unwrap();
        assert_eq!(claims["iss"], "TEAM123");
        assert_eq!(claims["sub"], "com.example.web");
        assert_eq!(claims["aud"], AUDIENCE);
        assert_eq!(
            claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
            300
        );
        assert!(AppleSecret::new("T", "K", "c", "garbage").is_err());
    }
}

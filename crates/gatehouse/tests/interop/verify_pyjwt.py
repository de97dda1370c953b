"""Verifies a Gatehouse session token with PyJWT against the issuer's JWKS, exactly as a
Python backend would. Usage: python3 verify_pyjwt.py <jwks_url> <issuer> <token>
Prints the verified claims as JSON; exits 1 with the reason when verification fails."""
import json
import sys

import jwt

jwks_url, issuer, token = sys.argv[1:4]
try:
    key = jwt.PyJWKClient(jwks_url).get_signing_key_from_jwt(token)
    claims = jwt.decode(
        token,
        key.key,
        algorithms=["RS256", "ES256", "EdDSA"],
        issuer=issuer,
        options={"require": ["exp", "iat", "nbf", "iss", "sub"]},
    )
except Exception as error:  # every refusal is reported the same way
    print(f"{type(error).__name__}: {error}", file=sys.stderr)
    sys.exit(1)
print(json.dumps(claims))

"""Verifies one RS256 token with PyJWT (jwt.decode: parse, signature, claims) in a loop
for the given seconds; prints {"rate": verifications per second}.
Usage: python3 pyjwt_verify.py <jwk json> <issuer> <token> <seconds>"""
import json
import sys
import time

import jwt

jwk_json, issuer, token, seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
key = jwt.PyJWK(json.loads(jwk_json)).key
jwt.decode(token, key, algorithms=["RS256"], issuer=issuer)  # warm-up and sanity check
start = time.perf_counter()
end = start + seconds
count = 0
while time.perf_counter() < end:
    for _ in range(100):
        jwt.decode(token, key, algorithms=["RS256"], issuer=issuer)
    count += 100
print(json.dumps({"rate": count / (time.perf_counter() - start)}))

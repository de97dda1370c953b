// Verifies one RS256 token with Node `jose` (jwtVerify: parse, signature, claims) in a
// loop for the given seconds; prints {"rate": verifications per second}.
// Usage: node jose_verify.mjs <jwk json> <issuer> <token> <seconds>
import { importJWK, jwtVerify } from 'jose';

const [jwkJson, issuer, token, seconds] = process.argv.slice(2);
const key = await importJWK(JSON.parse(jwkJson), 'RS256');
const options = { issuer, algorithms: ['RS256'] };
await jwtVerify(token, key, options); // warm-up and sanity check
const end = performance.now() + Number(seconds) * 1000;
let count = 0;
while (performance.now() < end) {
  for (let i = 0; i < 100; i++) await jwtVerify(token, key, options);
  count += 100;
}
const elapsed = (performance.now() - end + Number(seconds) * 1000) / 1000;
console.log(JSON.stringify({ rate: count / elapsed }));

// Verifies a Gatehouse session token with the `jose` library against the issuer's JWKS,
// exactly as a Node backend would. Usage: node verify.mjs <jwks_url> <issuer> <token>
// Prints the verified claims as JSON; exits 1 with the reason when verification fails.
import { createRemoteJWKSet, jwtVerify } from 'jose';

const [jwksUrl, issuer, token] = process.argv.slice(2);
try {
  const jwks = createRemoteJWKSet(new URL(jwksUrl));
  const { payload, protectedHeader } = await jwtVerify(token, jwks, {
    issuer,
    algorithms: ['RS256', 'ES256', 'EdDSA'],
  });
  console.log(JSON.stringify({ header: protectedHeader, claims: payload }));
} catch (e) {
  console.error(`${e.code || e.name}: ${e.message}`);
  process.exit(1);
}

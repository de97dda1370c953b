// Verifies a token minted from a Gatehouse JWT template with the `jose` library, as the
// system the template is for would: against the issuer's JWKS (instance key), a shared
// HS256 secret (e.g. Supabase), or a PEM public key (a custom RS256/ES256/EdDSA key).
//
//   node verify_template.mjs <issuer> <token> jwks:<jwks url> [hasura]
//   node verify_template.mjs <issuer> <token> secret:<HS256 secret> [hasura]
//   node verify_template.mjs <issuer> <token> spki:<alg>:<public key PEM file> [hasura]
//
// With `hasura`, the claims must also be in the shape Hasura GraphQL Engine documents for
// JWT mode (https://hasura.io/docs/latest/auth/authentication/jwt/): a
// `https://hasura.io/jwt/claims` object whose `x-hasura-allowed-roles` is a non-empty
// array of strings, whose `x-hasura-default-role` is one of them, and whose every other
// `x-hasura-*` session variable is a string.
// Prints {header, claims} as JSON; exits 1 with the reason when anything fails.
import { readFileSync } from 'node:fs';
import { createRemoteJWKSet, importSPKI, jwtVerify } from 'jose';

const [issuer, token, keySpec, check] = process.argv.slice(2);

async function key() {
  if (keySpec.startsWith('jwks:')) {
    return [createRemoteJWKSet(new URL(keySpec.slice(5))), ['RS256', 'ES256', 'EdDSA']];
  }
  if (keySpec.startsWith('secret:')) {
    return [new TextEncoder().encode(keySpec.slice(7)), ['HS256']];
  }
  if (keySpec.startsWith('spki:')) {
    const [, alg, ...file] = keySpec.split(':');
    return [await importSPKI(readFileSync(file.join(':'), 'utf8'), alg), [alg]];
  }
  throw new Error(`unknown key spec ${keySpec}`);
}

function checkHasura(claims) {
  const ns = claims['https://hasura.io/jwt/claims'];
  if (typeof ns !== 'object' || ns === null || Array.isArray(ns)) {
    throw new Error('no https://hasura.io/jwt/claims object');
  }
  const allowed = ns['x-hasura-allowed-roles'];
  if (!Array.isArray(allowed) || allowed.length === 0 || !allowed.every((r) => typeof r === 'string')) {
    throw new Error('x-hasura-allowed-roles must be a non-empty array of strings');
  }
  const role = ns['x-hasura-default-role'];
  if (typeof role !== 'string' || !allowed.includes(role)) {
    throw new Error('x-hasura-default-role must be a string among x-hasura-allowed-roles');
  }
  for (const [name, value] of Object.entries(ns)) {
    if (!name.toLowerCase().startsWith('x-hasura-')) {
      throw new Error(`${name} is not an x-hasura-* session variable`);
    }
    if (name !== 'x-hasura-allowed-roles' && typeof value !== 'string') {
      throw new Error(`${name} must be a string`);
    }
  }
}

try {
  const [verifyKey, algorithms] = await key();
  const { payload, protectedHeader } = await jwtVerify(token, verifyKey, { issuer, algorithms });
  if (check === 'hasura') checkHasura(payload);
  console.log(JSON.stringify({ header: protectedHeader, claims: payload }));
} catch (e) {
  console.error(`${e.code || e.name}: ${e.message}`);
  process.exit(1);
}

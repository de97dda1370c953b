// An Express API protected by Gatehouse: lax and strict protection and a role check,
// with nothing but `jose` and the issuer's JWKS — no Gatehouse package.
//
//   GATEHOUSE_ISSUER=http://localhost:3000 PORT=4001 node server.mjs
//
// AUTHORIZED_PARTIES (comma-separated origins) restricts `azp`;
// CLOCK_TOLERANCE_SECONDS (default 5) is the allowed clock skew.
import express from 'express';
import { createRemoteJWKSet, jwtVerify } from 'jose';

const issuer = (process.env.GATEHOUSE_ISSUER ?? 'http://localhost:3000').replace(/\/$/, '');
const port = Number(process.env.PORT ?? 4001);
const authorizedParties = (process.env.AUTHORIZED_PARTIES ?? '').split(',').filter(Boolean);
const clockTolerance = Number(process.env.CLOCK_TOLERANCE_SECONDS ?? 5);

// Fetched once, cached, refetched (rate limited) when a token names an unknown key.
const jwks = createRemoteJWKSet(new URL(`${issuer}/.well-known/jwks.json`));

const signedOut = {
  user_id: null, session_id: null, org_id: null, org_role: null, org_slug: null,
  org_permissions: [], actor: null, claims: null,
};

function sessionToken(req) {
  const [scheme, token] = (req.get('authorization') ?? '').split(' ');
  if (scheme?.toLowerCase() === 'bearer' && token) return token;
  for (const pair of (req.get('cookie') ?? '').split(';')) {
    const [name, ...value] = pair.trim().split('=');
    if (name === '__session' && value.length) return value.join('=');
  }
  return null;
}

// Lax: every request gets `req.auth`, signed out when the token is missing or invalid.
async function withAuth(req, _res, next) {
  req.auth = signedOut;
  const token = sessionToken(req);
  if (token) {
    try {
      const { payload } = await jwtVerify(token, jwks, {
        issuer,
        algorithms: ['RS256', 'ES256', 'EdDSA'],
        clockTolerance,
      });
      if (payload.azp && authorizedParties.length && !authorizedParties.includes(payload.azp)) {
        throw new Error('azp is not an authorized party');
      }
      req.auth = {
        user_id: payload.sub, session_id: payload.sid ?? null,
        org_id: payload.o?.id ?? null, org_role: payload.o?.rol ?? null,
        org_slug: payload.o?.slg ?? null, org_permissions: payload.o?.per ?? [],
        actor: payload.act?.sub ?? null, claims: payload,
      };
    } catch (error) {
      req.authError = error.code ?? error.message;
    }
  }
  next();
}

function error(res, status, code, longMessage) {
  res.status(status).json({ errors: [{ code, message: code, long_message: longMessage, meta: {} }] });
}

// Strict: 401 before the handler runs.
function requireAuth(req, res, next) {
  if (!req.auth.user_id) return error(res, 401, 'authentication_invalid', 'Sign in first.');
  next();
}

const app = express();
app.use(withAuth);
app.get('/api/protected', (req, res) => res.json(req.auth));
app.get('/api/strict', requireAuth, (req, res) =>
  res.json({ user_id: req.auth.user_id, session_id: req.auth.session_id }));
app.get('/admin', requireAuth, (req, res) => {
  if (req.auth.claims.role !== 'admin') {
    return error(res, 403, 'authorization_invalid', 'This route needs the admin role.');
  }
  res.json({ admin: true, user_id: req.auth.user_id });
});

app.listen(port, '127.0.0.1', () => console.log(`express-api on http://127.0.0.1:${port} (issuer ${issuer})`));

// An OpenID Connect provider for the social sign-in tests: oidc-provider with one
// confidential client that must use PKCE (S256), in-memory accounts whose claims come
// from OIDC_ACCOUNTS, and the package's own login and consent pages.
//
// Protocol with the test: prints "port N" once listening on 127.0.0.1, reads the
// client's redirect URI from stdin, then prints "ready".
import http from 'node:http';
import readline from 'node:readline';
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

const accounts = JSON.parse(process.env.OIDC_ACCOUNTS || '{}');

const server = http.createServer();
let handler = (req, res) => { res.statusCode = 503; res.end('not ready'); };
server.on('request', (req, res) => handler(req, res));
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`port ${server.address().port}\n`);
});

const input = readline.createInterface({ input: process.stdin });
input.once('line', (redirectUri) => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'test-key-1', alg: 'RS256', use: 'sig' };
  const provider = new Provider(issuer, {
    clients: [{
      client_id: process.env.OIDC_CLIENT_ID,
      client_secret: process.env.OIDC_CLIENT_SECRET,
      redirect_uris: [redirectUri.trim()],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    }],
    pkce: { required: () => true },
    jwks: { keys: [jwk] },
    cookies: { keys: ['gatehouse-test-cookie-key'] },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['given_name', 'family_name', 'name'],
    },
    features: { devInteractions: { enabled: true } },
    async findAccount(ctx, id) {
      const a = accounts[id] || { email: `${id}@example.com`, email_verified: false };
      return {
        accountId: id,
        async claims() {
          return {
            sub: id,
            email: a.email,
            email_verified: a.email_verified,
            given_name: a.given_name,
            family_name: a.family_name,
          };
        },
      };
    },
  });
  handler = provider.callback();
  process.stdout.write('ready\n');
});

process.stdin.on('end', () => process.exit(0));

// End-to-end tests of the hosted pages and gatehouse.js in headless Chromium, run by
// the Rust test `browser::hosted_pages_and_gatehouse_js_in_chromium` (tests/pages.rs),
// which starts the server and passes its URLs as one JSON argument. One browser, one
// context per person/device. Every page visited is checked with axe-core (no serious or
// critical violations, light and dark) and screenshotted in both colour schemes.
import { chromium } from "playwright-core";
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import { createRequire } from "node:module";

const cfg = JSON.parse(process.argv[2]);
const require = createRequire(import.meta.url);
const axeSource = fs.readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const PASSWORD = "correct horse battery staple";
const GH = cfg.publicUrl;
const failures = [];
const timings = {};
const audited = [];
fs.mkdirSync(cfg.artifacts, { recursive: true });

function check(cond, message) {
  if (!cond) throw new Error(message);
}

// A tiny app on another origin that uses gatehouse.js the way an application would.
const appHtml = fs.readFileSync(new URL("./app.html", import.meta.url), "utf8").replaceAll("__GATEHOUSE__", GH);
const appServer = http.createServer((_, res) => {
  res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
  res.end(appHtml);
});
await new Promise((resolve) => appServer.listen(cfg.appPort, "127.0.0.1", resolve));
const APP = `http://127.0.0.1:${cfg.appPort}/app`;

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});

async function context() {
  const ctx = await browser.newContext({ viewport: { width: 800, height: 900 } });
  return ctx;
}

const open = [];
async function page(ctx, label) {
  const p = await ctx.newPage();
  open.push([label, p]);
  p.on("console", (m) => {
    if (m.type() === "error" && /Content Security Policy|Refused to/.test(m.text())) {
      failures.push(`${label}: ${m.text()}`);
    }
  });
  p.on("pageerror", (e) => failures.push(`${label}: page error ${e.message}`));
  return p;
}

// axe-core in both colour schemes, and a screenshot of each.
async function audit(p, name) {
  audited.push(name);
  await p.evaluate(axeSource);
  for (const scheme of ["light", "dark"]) {
    await p.emulateMedia({ colorScheme: scheme });
    const violations = await p.evaluate(async () => {
      const r = await window.axe.run(document, { resultTypes: ["violations"] });
      return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")) }));
    });
    const bad = violations.filter((v) => v.impact === "serious" || v.impact === "critical");
    if (bad.length) failures.push(`axe ${name} (${scheme}): ${JSON.stringify(bad)}`);
    await p.screenshot({ path: `${cfg.artifacts}/${name}-${scheme}.png`, fullPage: true });
  }
  await p.emulateMedia({ colorScheme: "light" });
}

function claims(jwt) {
  return JSON.parse(Buffer.from(jwt.split(".")[1], "base64url").toString());
}

function totp(secretB32, unixSeconds) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of secretB32.replace(/=+$/, "")) bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(unixSeconds / 30)));
  const mac = crypto.createHmac("sha1", key).update(counter).digest();
  const o = mac[19] & 0xf;
  return String((mac.readUInt32BE(o) & 0x7fffffff) % 1e6).padStart(6, "0");
}

async function admin(method, path, body) {
  const r = await fetch(cfg.adminUrl + path, {
    method,
    headers: { authorization: `Bearer ${cfg.secretKey}`, "content-type": "application/json" },
    body: body ? JSON.stringify(body) : undefined,
  });
  check(r.ok, `${method} ${path}: ${r.status}`);
  return r.json();
}

const signedIn = (p, email) =>
  p.waitForFunction((e) => document.getElementById("who")?.textContent === `signed in as ${e}`, email, { timeout: 10000 });

async function signUp(p, email, first) {
  await p.goto(`${GH}/sign-up`);
  await p.fill("#f-first_name", first);
  await p.fill("#f-email_address", email);
  await p.fill("#f-password", PASSWORD);
  await Promise.all([p.waitForURL(APP), p.click("button[type=submit]")]);
}

async function identifierAndPassword(p, email, { audited = false } = {}) {
  await p.goto(`${GH}/sign-in`);
  if (audited) await audit(p, "sign-in");
  await p.fill("#f-identifier", email);
  await Promise.all([p.waitForURL(/attempt=/), p.click("button[type=submit]")]);
  if (audited) await audit(p, "sign-in-password");
  await p.fill("#f-password", PASSWORD);
  await p.click("form[action='/sign-in/password'] button[type=submit]");
}

async function scenario(name, f) {
  const t = Date.now();
  try {
    await f();
  } catch (e) {
    failures.push(`${name}: ${e.stack || e}`);
    // What each page of the scenario showed when it failed.
    for (const [label, p] of open.splice(0)) {
      const file = `${cfg.artifacts}/failed-${name}-${label.replace(/\W+/g, "-")}`;
      await p.screenshot({ path: `${file}.png`, fullPage: true }).catch(() => {});
      fs.writeFileSync(`${file}.html`, await p.content().catch(() => ""));
    }
  }
  open.length = 0;
  timings[name] = Date.now() - t;
}

// 1. Sign-up with a password lands on after_sign_up_url signed in; reload and a second
// tab stay signed in; __session stays fresh past its lifetime; __client is never
// visible to scripts; signing out in one tab signs the other out within 2 s.
await scenario("sign_up_tabs_and_refresh", async () => {
  const ctx = await context();
  const a = await page(ctx, "tab 1");
  await a.goto(`${GH}/sign-up`);
  await audit(a, "sign-up");
  await signUp(a, "ada@example.com", "Ada");
  await signedIn(a, "ada@example.com");
  const noClient = () => !/(^|; )__client=/.test(document.cookie);
  check(await a.evaluate(noClient), "__client is visible to scripts");
  await a.reload();
  await signedIn(a, "ada@example.com");
  const b = await page(ctx, "tab 2");
  await b.goto(APP);
  await signedIn(b, "ada@example.com");

  const session = async () => (await ctx.cookies(GH)).find((c) => c.name === "__session");
  const first = await session();
  check(first, "no __session after sign-up");
  const before = claims(first.value);
  await a.waitForTimeout((cfg.tokenLifetime * 2 + 1) * 1000);
  const later = await session();
  check(later, "__session expired: not refreshed");
  const after = claims(later.value);
  check(after.iat > before.iat, `__session not refreshed (iat ${before.iat} -> ${after.iat})`);
  check(after.exp * 1000 > Date.now(), "__session is expired");
  check(after.azp === `http://127.0.0.1:${cfg.appPort}`, `azp ${after.azp}`);
  const fromPage = await a.evaluate(() => window.gatehouse.getToken());
  check(claims(fromPage).exp * 1000 > Date.now(), "getToken gave an expired token");
  check(await a.evaluate(noClient), "__client is visible to scripts");
  check(await b.evaluate(noClient), "__client is visible to scripts");

  await a.click("#sign-out");
  const t0 = Date.now();
  await b.waitForFunction(() => document.getElementById("who").textContent === "signed out", null, { timeout: 2000 });
  timings.other_tab_signed_out_ms = Date.now() - t0;
  await a.waitForFunction(() => document.getElementById("who").textContent === "signed out");
  check(!(await session()), "__session left after sign-out");
  await ctx.close();
});

// 2. A magic link opened in a second, separate browser: the first tab finishes by itself.
await scenario("magic_link_in_another_browser", async () => {
  await admin("POST", "/v1/users", { email_address: ["link@example.com"], password: PASSWORD });
  const ctx = await context();
  const p = await page(ctx, "asking browser");
  await p.goto(`${GH}/sign-in`);
  await audit(p, "sign-in");
  await p.fill("#f-identifier", "link@example.com");
  await Promise.all([p.waitForURL(/attempt=/), p.click("button[type=submit]")]);
  await audit(p, "sign-in-password");
  await Promise.all([p.waitForURL(/view=methods/), p.click("text=Use another method")]);
  await audit(p, "sign-in-methods");
  await Promise.all([p.waitForURL(/attempt=(?!.*view=)/), p.click("button:has-text('Email a sign-in link')")]);
  await p.waitForSelector("[data-poll]");
  await audit(p, "sign-in-check-email");
  const outbox = await admin("GET", "/v1/dev/outbox?to=link%40example.com");
  const text = outbox.data[0].text;
  const link = text.match(/https?:\/\/\S+\/v1\/verify\?token=\S+/)[0];
  const other = await context();
  const q = await page(other, "other browser");
  const t0 = Date.now();
  await q.goto(link);
  await q.waitForSelector("[data-state=verified]");
  await p.waitForURL(`${GH}/user`, { timeout: 10000 });
  timings.first_tab_finished_ms = Date.now() - t0;
  await audit(q, "verify-other-browser");
  await p.waitForSelector("#devices");
  await audit(p, "user");
  check((await other.cookies(GH)).every((c) => c.name !== "__session"), "the other browser got a session");
  await q.goto(`${GH}/verify?__gatehouse_status=expired`);
  await audit(q, "verify-expired");
  await q.goto(`${GH}/verify?__gatehouse_status=failed`);
  await audit(q, "verify-failed");
  await other.close();
  await ctx.close();
});

// 3. MFA: enroll from /user (the key read from the page), sign out, sign in with the
// password and a TOTP code; then with a backup code.
await scenario("mfa_enroll_totp_and_backup_code", async () => {
  const ctx = await context();
  const p = await page(ctx, "mfa");
  await signUp(p, "grace@example.com", "Grace");
  await p.goto(`${GH}/user`);
  await Promise.all([p.waitForURL(`${GH}/user/mfa/start`), p.click("text=Set up authenticator app")]);
  await audit(p, "mfa-enroll");
  const secret = await p.getAttribute("#totp-secret", "data-secret");
  check(/^[A-Z2-7]{32}$/.test(secret), `secret ${secret}`);
  check(await p.locator(".qr svg").count() === 1, "no QR code");
  const enrolledAt = Date.now() / 1000;
  await p.fill("#f-code", totp(secret, enrolledAt));
  await Promise.all([p.waitForURL(`${GH}/user/mfa/confirm`), p.click("text=Turn on")]);
  await audit(p, "mfa-backup-codes");
  const codes = await p.locator("#backup-codes code").allTextContents();
  check(codes.length === 10, `${codes.length} backup codes`);
  await p.click("text=I saved them");
  await p.waitForSelector("text=An authenticator app is set up.");

  await p.goto(`${GH}/sign-out`);
  await audit(p, "sign-out");
  await Promise.all([p.waitForURL(`${GH}/sign-in`), p.click("button:has-text('Sign out')")]);
  await identifierAndPassword(p, "grace@example.com");
  await p.waitForSelector("#f-code");
  await audit(p, "sign-in-totp");
  // The step after the one used at enrollment (a step is never accepted twice).
  await p.fill("#f-code", totp(secret, enrolledAt + 30));
  await Promise.all([p.waitForURL(`${GH}/user`), p.click("button:has-text('Verify')")]);

  await p.goto(`${GH}/sign-out`);
  await Promise.all([p.waitForURL(`${GH}/sign-in`), p.click("button:has-text('Sign out')")]);
  await identifierAndPassword(p, "grace@example.com");
  await Promise.all([p.waitForURL(/view=backup/), p.click("text=Use a backup code")]);
  await audit(p, "sign-in-backup-code");
  await p.fill("#f-code", "wrong-code");
  await p.click("button:has-text('Verify')");
  await p.waitForSelector("#e-code");
  await audit(p, "sign-in-backup-code-error");
  await p.fill("#f-code", codes[0]);
  await Promise.all([p.waitForURL(`${GH}/user`), p.click("button:has-text('Verify')")]);
  await ctx.close();
});

// 4. "Forgot password?": a reset code by email, a new password, signed in.
await scenario("password_reset", async () => {
  await admin("POST", "/v1/users", { email_address: ["reset@example.com"], password: PASSWORD });
  const ctx = await context();
  const p = await page(ctx, "reset");
  await p.goto(`${GH}/sign-in`);
  await p.fill("#f-identifier", "reset@example.com");
  await Promise.all([p.waitForURL(/attempt=/), p.click("button[type=submit]")]);
  await p.click("text=Forgot password?");
  await p.waitForSelector("text=Enter it to set a new password");
  await audit(p, "sign-in-code");
  const outbox = await admin("GET", "/v1/dev/outbox?to=reset%40example.com");
  const code = outbox.data[0].text.match(/\b\d{6}\b/)[0];
  await p.fill("#f-code", code);
  await p.click("button:has-text('Continue')");
  await p.waitForSelector("#f-password[autocomplete=new-password]");
  await audit(p, "sign-in-new-password");
  await p.fill("#f-password", "an entirely new horse battery");
  await Promise.all([p.waitForURL(`${GH}/user`), p.click("button:has-text('Set password and continue')")]);
  await ctx.close();
});

// 5. The remaining pages' states: errors shown on the identifier step.
await scenario("error_states", async () => {
  const ctx = await context();
  const p = await page(ctx, "errors");
  await p.goto(`${GH}/sign-in`);
  await p.fill("#f-identifier", "nobody@example.com");
  await p.click("button[type=submit]");
  await p.waitForSelector("#e-identifier");
  const focused = await p.evaluate(() => document.activeElement?.id);
  check(focused === "f-identifier", `focus on ${focused}, not the field in error`);
  await audit(p, "sign-in-error");
  await ctx.close();
});

// 6. The protected-app example (axum + gatehouse-sdk): a signed-out visit goes to the
// hosted sign-in and comes back to the protected page, signed in.
await scenario("protected_app", async () => {
  await admin("POST", "/v1/users", { email_address: ["guarded@example.com"], password: PASSWORD });
  const ctx = await context();
  const p = await page(ctx, "protected app");
  const protectedPage = `${cfg.protectedAppUrl}/protected`;
  await p.goto(protectedPage);
  check(p.url().startsWith(`${GH}/sign-in?redirect_url=`), `not sent to sign in: ${p.url()}`);
  await p.fill("#f-identifier", "guarded@example.com");
  await Promise.all([p.waitForURL(/attempt=/), p.click("button[type=submit]")]);
  await p.fill("#f-password", PASSWORD);
  await Promise.all([
    p.waitForURL(protectedPage, { timeout: 10000 }),
    p.click("form[action='/sign-in/password'] button[type=submit]"),
  ]);
  const user = await p.textContent("#user");
  check(/^user_/.test(user ?? ""), `the protected page shows ${user}`);
  const users = await admin("GET", "/v1/users?email_address=guarded%40example.com");
  check(users.data[0].id === user, `signed in as ${user}, not ${users.data[0].id}`);
  // Past the token's lifetime the page still opens (through the handshake if needed).
  await p.waitForTimeout((cfg.tokenLifetime + 6) * 1000);
  await p.goto(protectedPage);
  check(p.url() === protectedPage, `after the token expired: ${p.url()}`);
  check((await p.textContent("#user")) === user, "signed out after the token expired");
  await ctx.close();
});

// 7. "Continue with Acme ID" on /sign-in → the provider's own login and consent pages
// (oidc-provider) → back on the app, signed in as a new user with the provider's
// verified email.
await scenario("social_sign_in", async () => {
  const ctx = await context();
  const p = await page(ctx, "social");
  await p.goto(`${GH}/sign-in`);
  await Promise.all([
    p.waitForURL((u) => u.toString().startsWith(cfg.providerIssuer)),
    p.click("text=Continue with Acme ID"),
  ]);
  await p.waitForSelector("input[name=login]");
  await p.fill("input[name=login]", "sam");
  await p.fill("input[name=password]", "any password");
  await Promise.all([p.waitForNavigation(), p.click("button[type=submit]")]);
  // The consent page: allow.
  await p.waitForSelector("button[type=submit]");
  await Promise.all([
    p.waitForURL((u) => !u.toString().startsWith(cfg.providerIssuer), { timeout: 15000 }),
    p.click("button[type=submit]"),
  ]);
  await p.waitForURL((u) => u.toString() === APP || u.toString() === `${GH}/user`, { timeout: 15000 });
  if (p.url() === APP) await signedIn(p, "sam@example.com");
  const users = await admin("GET", "/v1/users?email_address=sam%40example.com");
  check(users.total_count === 1, `users with the provider's email: ${users.total_count}`);
  const [sam] = users.data;
  check(sam.external_accounts.length === 1, `external accounts: ${JSON.stringify(sam.external_accounts)}`);
  const session = (await ctx.cookies(GH)).find((c) => c.name === "__session");
  check(session && claims(session.value).sub === sam.id, "no session token for the new user");
  await ctx.close();
});

// 8. Enterprise SSO: an email on the connection's domain at /sign-in goes to the
// identity provider (on another site: localhost, while Gatehouse is 127.0.0.1), whose
// page auto-posts the signed response cross-site to the ACS; the browser then
// completes on Gatehouse with its own cookies and lands signed in.
await scenario("enterprise_sso", async () => {
  const connection = await admin("POST", "/v1/saml_connections", {
    name: "Acme SSO",
    domains: ["acme-sso.test"],
    idp_entity_id: cfg.idpEntityId,
    idp_sso_url: cfg.idpSsoUrl,
    idp_certificate: cfg.idpCertificate,
  });
  const ctx = await context();
  const p = await page(ctx, "enterprise sso");
  await p.goto(`${GH}/sign-in`);
  await p.fill("#f-identifier", "ada@acme-sso.test");
  await Promise.all([p.waitForURL(/attempt=/), p.click("button[type=submit]")]);
  check((await p.locator("input[type=password]").count()) === 0, "asked for a password");
  await audit(p, "sign-in-sso");
  await Promise.all([
    p.waitForURL((u) => u.toString().startsWith(cfg.idpSsoUrl)),
    p.click("text=Continue to single sign-on"),
  ]);
  await p.fill("input[name=name_id]", "00u-ada");
  await p.fill("input[name=email]", "ada@acme-sso.test");
  await p.fill("input[name=first_name]", "Ada");
  await p.fill("input[name=last_name]", "Lovelace");
  await Promise.all([
    p.waitForURL(`${GH}/user`, { timeout: 15000 }),
    p.click("button[type=submit]"),
  ]);
  const users = await admin("GET", "/v1/users?email_address=ada%40acme-sso.test");
  check(users.total_count === 1, `users with the IdP's email: ${users.total_count}`);
  const [ada] = users.data;
  check(
    ada.saml_accounts.length === 1 && ada.saml_accounts[0].saml_connection_id === connection.id,
    `saml accounts: ${JSON.stringify(ada.saml_accounts)}`,
  );
  // The signed-in page's gatehouse.js mints __session after it loads.
  let session;
  for (let i = 0; i < 50 && !session; i++) {
    session = (await ctx.cookies(GH)).find((c) => c.name === "__session");
    if (!session) await p.waitForTimeout(100);
  }
  check(session && claims(session.value).sub === ada.id, "no session token for the SSO user");
  await ctx.close();
});

await browser.close();
appServer.close();
console.log(JSON.stringify({ failures, timings, audited }));
process.exit(failures.length ? 1 : 0);

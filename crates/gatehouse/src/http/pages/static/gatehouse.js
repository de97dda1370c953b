// gatehouse.js — the Gatehouse browser client. A dependency-free ES module, served by
// Gatehouse at /v1/gatehouse.js; it talks to the Frontend API of the server it came
// from. `__client` stays HttpOnly: this script never sees it.
//
//   import gatehouse from "https://auth.example.com/v1/gatehouse.js";
//   await gatehouse.load();
//   gatehouse.user;                       // the signed-in user, or null
//   const jwt = await gatehouse.getToken();          // fresh session token
//   await gatehouse.getToken({ template: "hasura" }); // from a JWT template
//   gatehouse.addListener(({ user, session }) => …); // sign-in/out here or in another tab
//   await gatehouse.signOut();  gatehouse.redirectToSignIn();
//
// It refreshes the session token (and so the __session cookie) before it expires and
// when the tab regains focus, and keeps tabs in step: signing out in one tab signs out
// the others (BroadcastChannel, with the storage event as fallback, and a watch on the
// __client_uat cookie where it is readable).
const API = new URL(import.meta.url).origin;
const SAME_ORIGIN = typeof location !== "undefined" && location.origin === API;
const KEY = "gatehouse:event";
let client = null, session = null, token = null, timer = 0, loading = null, uat = readUat();
const listeners = new Set();
const channel = typeof BroadcastChannel === "function" ? new BroadcastChannel("gatehouse") : null;

function readUat() {
  const m = typeof document !== "undefined" && document.cookie.match(/(?:^|; )__client_uat=(\d+)/);
  return m ? Number(m[1]) : null;
}

async function api(method, path) {
  const r = await fetch(API + path, { method, credentials: "include", cache: "no-store" });
  const body = await r.json().catch(() => null);
  if (!r.ok) {
    const e = body?.errors?.[0] || {};
    throw Object.assign(new Error(e.message || `HTTP ${r.status}`), { status: r.status, code: e.code });
  }
  return body;
}

function use(c) {
  const before = session?.id ?? null;
  client = c;
  session = c?.sessions?.find((s) => s.id === c.last_active_session_id) ?? null;
  if ((session?.id ?? null) !== before) {
    token = null;
    clearTimeout(timer);
    for (const f of listeners) { try { f(state()); } catch (e) { console.error(e); } }
    return true;
  }
  return false;
}

const state = () => ({ client, session, user: session?.user ?? null });

function tell(type) {
  const msg = { type, at: Date.now() };
  channel?.postMessage(msg);
  try { localStorage.setItem(KEY, JSON.stringify(msg)); } catch (_) { /* storage off */ }
}

async function reload() {
  uat = readUat();
  // Same origin and no signed-in cookie: nothing to ask the server.
  if (uat === 0 || (uat === null && SAME_ORIGIN)) return use(null);
  use((await api("GET", "/v1/client")).response);
  if (session) await refresh().catch(() => {});
}

/** Reads the client once (later calls share it) and starts keeping the session fresh. */
function load() {
  if (!loading) {
    loading = reload().then(watch);
  }
  return loading;
}

async function refresh(template) {
  if (!session) return null;
  const sid = session.id;
  const path = `/v1/client/sessions/${encodeURIComponent(sid)}/tokens` +
    (template ? "/" + encodeURIComponent(template) : "");
  let body;
  try {
    body = await api("POST", path);
  } catch (e) {
    // The session ended (signed out, revoked, expired): this client is signed out.
    if (!template && (e.status === 401 || e.status === 404)) { use(null); tell("signed_out"); return null; }
    throw e;
  }
  if (template || session?.id !== sid) return body.jwt;
  const claims = JSON.parse(atob(body.jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
  const life = Math.max(1, claims.exp - claims.iat) * 1000;
  // Timed by this clock from when it arrived, so a skewed clock does not matter.
  token = { jwt: body.jwt, at: Date.now(), life };
  clearTimeout(timer);
  const margin = Math.min(10000, life / 3);
  timer = setTimeout(() => refresh().catch(() => {}), Math.max(500, life - margin));
  return body.jwt;
}

/** A session token: the cached one while fresh, else a new one; `template` names a JWT template. */
async function getToken({ template, skipCache } = {}) {
  await load();
  if (!session) return null;
  if (!template && !skipCache && token && Date.now() - token.at < token.life - Math.min(10000, token.life / 3)) {
    return token.jwt;
  }
  return refresh(template);
}

/** Signs this browser out (every session of it) and tells the other tabs. */
async function signOut() {
  await load();
  await api("DELETE", "/v1/client/sessions");
  use(null);
  tell("signed_out");
}

/** Sends the browser to the hosted sign-in page, coming back to `redirectUrl` (default: here). */
function redirectToSignIn({ redirectUrl } = {}) {
  const back = encodeURIComponent(redirectUrl || location.href);
  location.assign(`${API}/sign-in?redirect_url=${back}`);
}

/** Calls `f({client, session, user})` whenever who is signed in changes; returns an unsubscribe. */
function addListener(f) {
  listeners.add(f);
  return () => listeners.delete(f);
}

function watch() {
  const again = () => reload().catch(() => {});
  const onMessage = (m) => {
    if (m?.type === "signed_out") { if (use(null)) uat = readUat(); }
    else if (m?.type === "signed_in") again();
  };
  channel?.addEventListener("message", (e) => onMessage(e.data));
  addEventListener("storage", (e) => {
    if (e.key === KEY && e.newValue) { try { onMessage(JSON.parse(e.newValue)); } catch (_) { /* ignore */ } }
  });
  const onFocus = () => {
    if (document.visibilityState !== "visible") return;
    if (!session) return again();
    if (!token || Date.now() - token.at > token.life / 2) refresh().catch(() => {});
  };
  addEventListener("focus", onFocus);
  document.addEventListener("visibilitychange", onFocus);
  // A sign-in or sign-out by a form or another tab changes __client_uat.
  setInterval(() => {
    const now = readUat();
    if (now !== uat && !(now === null && uat === null)) {
      uat = now;
      again();
    }
  }, 1000);
}

const gatehouse = {
  load, getToken, signOut, redirectToSignIn, addListener,
  get client() { return client; },
  get session() { return session; },
  get user() { return session?.user ?? null; },
};
export { load, getToken, signOut, redirectToSignIn, addListener };
export default gatehouse;

// Enhancements of the hosted pages; every page works without them.
import gatehouse from "__GATEHOUSE_JS__";

const path = location.pathname;

// "Check your email": poll the sign-in while the link may be opened elsewhere; once it
// moved on, reload and let the server show the next step or finish.
const waiting = document.querySelector("[data-poll]:not([data-expired])");
if (waiting) {
  const poll = async () => {
    try {
      const r = await fetch(waiting.dataset.poll, { credentials: "same-origin", cache: "no-store" });
      const s = r.ok ? (await r.json()).response : null;
      if (!s || s.status !== "needs_first_factor" || s.first_factor_verification?.status !== "unverified") {
        return location.reload();
      }
    } catch (_) { /* offline for a moment: try again */ }
    setTimeout(poll, 1500);
  };
  setTimeout(poll, 1500);
}

// Signed in by a link in this browser: go on after a moment.
const next = document.querySelector("a[data-auto]");
if (next) setTimeout(() => location.assign(next.href), 2000);

// Keep the session fresh, and follow what other tabs do: signed out elsewhere leaves
// the account page, signed in elsewhere leaves the sign-in pages.
gatehouse.load().then(() => {
  gatehouse.addListener(({ user }) => {
    const account = path === "/user" || path === "/sign-out";
    const entry = path === "/sign-in" || path === "/sign-up";
    if ((account && !user) || (entry && user && !waiting)) location.reload();
  });
}).catch(() => {});

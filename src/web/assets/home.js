// The home page's live board: when /events announces a ticket change, fetch the page again and
// swap in the board's sections (not the presence form, so a click in progress is not lost).
// Changes that arrive during a fetch are folded into one more fetch after it. Presence and the
// "for" / "waiting" times are not ticket changes, so the board is also refreshed every 30 s.
const SECTIONS = ["calls", "queue", "mine", "urgent", "oncall"];
let busy = false, again = false;

function refresh() {
  if (busy) { again = true; return; }
  busy = true;
  fetch("/", { headers: { Accept: "text/html" } })
    .then(r => (r.ok ? r.text() : Promise.reject(r.status)))
    .then(html => {
      const fresh = new DOMParser().parseFromString(html, "text/html");
      for (const id of SECTIONS) {
        const section = fresh.getElementById(id), old = document.getElementById(id);
        if (section && old) old.replaceWith(section);
      }
      document.body.dataset.refreshed = String(Date.now());
    })
    .catch(() => {})
    .finally(() => {
      busy = false;
      if (again) { again = false; refresh(); }
    });
}

const events = (window.hotlineEvents = window.hotlineEvents || new EventSource("/events"));
events.addEventListener("ticket", refresh);
events.addEventListener("lagged", refresh);
setInterval(refresh, 30000);

// A click on a transcript segment plays the voicemail from there. Delegated to the document so
// it keeps working after a live update replaces the transcript section.
document.addEventListener("click", e => {
  const row = e.target.closest(".transcript tr[data-start]");
  const audio = document.getElementById("voicemail");
  if (!row || !audio) return;
  e.preventDefault();
  audio.currentTime = parseFloat(row.dataset.start);
  audio.play().catch(() => {});
});

// While the call goes on (and after), /events announces every change to this ticket: its
// timeline (ringing, who answered, hang-up), its transcript (a long voicemail is transcribed in
// parts), notes and changes by colleagues. Fetch the page again and swap in those sections only,
// so a note being typed and the voicemail player are not disturbed. Changes arriving during a
// fetch are folded into one more fetch after it.
const SECTIONS = ["transcript", "timeline", "activity"];
const section = document.getElementById("transcript");
if (section) {
  const reference = section.dataset.reference;
  let busy = false, again = false;
  const refresh = () => {
    if (busy) { again = true; return; }
    busy = true;
    fetch(location.pathname)
      .then(r => (r.ok ? r.text() : Promise.reject(r.status)))
      .then(html => {
        const fresh = new DOMParser().parseFromString(html, "text/html");
        for (const id of SECTIONS) {
          const part = fresh.getElementById(id), old = document.getElementById(id);
          if (part && old) old.replaceWith(part);
        }
      })
      .catch(() => {})
      .finally(() => {
        busy = false;
        if (again) { again = false; refresh(); }
      });
  };
  (window.hotlineEvents = window.hotlineEvents || new EventSource("/events")).addEventListener("ticket", e => {
    if (JSON.parse(e.data).reference === reference) refresh();
  });
}

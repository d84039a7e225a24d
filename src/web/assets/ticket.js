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

// When /events says this ticket's transcript grew (a long voicemail is transcribed in parts),
// fetch the page again and swap in its transcript section only, so a note being typed is not
// lost.
const section = document.getElementById("transcript");
if (section) {
  const reference = section.dataset.reference;
  (window.hotlineEvents = window.hotlineEvents || new EventSource("/events")).addEventListener("ticket", e => {
    const change = JSON.parse(e.data);
    if (change.reference !== reference || change.kind !== "transcript") return;
    fetch(location.pathname).then(r => r.text()).then(html => {
      const fresh = new DOMParser().parseFromString(html, "text/html").getElementById("transcript");
      if (fresh) document.getElementById("transcript").replaceWith(fresh);
    });
  });
}

// The call log's live banner: /events announces new calls; the page offers a reload rather
// than moving rows under the technician's cursor. Without JavaScript the banner stays hidden.
(window.hotlineEvents = window.hotlineEvents || new EventSource("/events")).addEventListener("ticket", e => {
  if (JSON.parse(e.data).kind === "created") document.getElementById("live").hidden = false;
});

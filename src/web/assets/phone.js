// The screen pop: when Hotline rings this technician's phones for a routed call, every open
// page of theirs shows a card with what is known about the call (and a desktop notification
// when the tab is in the background, once allowed); when they take the call, the page opens
// its ticket; when the ringing stops without them, the card goes. The events come from
// /events ("call": {reference, kind}), sent only to the technician concerned. Loaded first
// (in the head, deferred), it opens the page's one /events stream for the other scripts too.
(() => {
  const fr = document.documentElement.lang === "fr";
  const t = (en, f) => (fr ? f : en);
  let card = null;

  function field(label, value) {
    if (!value) return;
    const row = document.createElement("div");
    const b = document.createElement("b");
    b.textContent = label + " ";
    row.append(b, String(value));
    card.append(row);
  }

  function show(reference) {
    card?.remove();
    card = document.createElement("aside");
    card.id = "ringing";
    card.dataset.reference = reference;
    const title = document.createElement("h2");
    title.textContent = t("Your phone is ringing: ", "Votre téléphone sonne : ");
    const link = document.createElement("a");
    link.href = "/tickets/" + reference;
    link.textContent = reference;
    title.append(link);
    card.append(title);
    const nav = document.querySelector("nav");
    if (nav) nav.after(card);
    else document.body.prepend(card);
    fetch("/api/tickets/" + reference, { headers: { Accept: "application/json" } })
      .then(r => (r.ok ? r.json() : Promise.reject(r.status)))
      .then(({ ticket }) => {
        if (!card || card.dataset.reference !== reference) return;
        const caller = [ticket.caller_name, ticket.caller_number].filter(Boolean).join(" ");
        field(t("Caller", "Appelant"), caller);
        field(t("Priority", "Priorité"), ticket.priority);
        field(t("Category", "Catégorie"), ticket.category);
        field(t("Impact / urgency", "Impact / urgence"), [ticket.impact, ticket.urgency].filter(Boolean).join(" / "));
        field(t("Voicemail", "Message"), ticket.transcript);
        otherOpenTickets(reference, ticket.caller_number);
        if (document.hidden && "Notification" in window && Notification.permission === "granted") {
          new Notification(t("Call for you: ", "Appel pour vous : ") + reference, { body: caller });
        }
      })
      .catch(() => {});
  }

  // The caller's other open tickets: often the same problem calling again.
  function otherOpenTickets(reference, number) {
    if (!number) return;
    const open = new Set(["new", "acknowledged", "in_progress"]);
    fetch("/api/tickets?per_page=20&q=" + encodeURIComponent(number), { headers: { Accept: "application/json" } })
      .then(r => (r.ok ? r.json() : Promise.reject(r.status)))
      .then(({ tickets }) => {
        if (!card || card.dataset.reference !== reference) return;
        const others = tickets.filter(o => o.caller_number === number && o.reference !== reference && open.has(o.status));
        if (!others.length) return;
        const row = document.createElement("div");
        row.className = "others";
        const b = document.createElement("b");
        b.textContent = t("Open tickets of this caller", "Tickets ouverts de ce demandeur") + " ";
        row.append(b);
        for (const o of others) {
          const a = document.createElement("a");
          a.href = "/tickets/" + o.reference;
          a.textContent = o.reference;
          row.append(a, " ");
        }
        card.append(row);
      })
      .catch(() => {});
  }

  function hide(reference) {
    if (card && card.dataset.reference === reference) {
      card.remove();
      card = null;
    }
  }

  // Desktop notifications need the user's permission, asked on a click (browsers refuse it
  // otherwise); the first click anywhere on a page asks once.
  if ("Notification" in window && Notification.permission === "default") {
    document.addEventListener("click", () => Notification.requestPermission(), { once: true });
  }

  // One stream per page, shared with the page's own script (window.hotlineEvents): a browser opens
  // at most six connections to a site, and the voicemail player needs some of them.
  window.hotlineEvents = window.hotlineEvents || new EventSource("/events");
  window.hotlineEvents.addEventListener("call", e => {
    const { reference, kind } = JSON.parse(e.data);
    if (kind === "ringing") show(reference);
    else if (kind === "answered") {
      // A call taken in this page's softphone goes on here; its ticket opened in another tab.
      if (window.hotlineSoftphone && window.hotlineSoftphone.inCall()) hide(reference);
      else if (window.location.pathname !== "/tickets/" + reference) window.location.assign("/tickets/" + reference);
    }
    else hide(reference);
  });
})();

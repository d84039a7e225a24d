// The phone in the browser: while the home page is open, it is one more phone of its
// technician (a binding routing rings like a desk phone). Signalling is the small JSON protocol
// of /phone (docs/web.md, "Phone in the browser"); media is WebRTC. The microphone is asked for
// only when a call is answered. Tickets open in another tab, so the call lives on here.
(() => {
  const panel = document.getElementById("softphone");
  if (!panel) return;
  const fr = document.documentElement.lang === "fr";
  const t = (en, f) => (fr ? f : en);
  const iceServers = JSON.parse(panel.dataset.ice || "[]");

  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    Object.assign(e, attrs || {});
    if (text) e.textContent = text;
    return e;
  }
  const title = el("h3", {}, t("Phone in the browser", "Téléphone dans le navigateur"));
  const status = el("p", { className: "phone-state", role: "status" }, t("Connecting…", "Connexion…"));
  const mic = el("p", { className: "mic-state" });
  const caller = el("p", { className: "phone-caller" });
  const answerButton = el("button", { type: "button", className: "answer", hidden: true }, t("Answer", "Répondre"));
  const declineButton = el("button", { type: "button", className: "decline", hidden: true }, t("Decline", "Refuser"));
  const hangupButton = el("button", { type: "button", className: "hangup", hidden: true }, t("Hang up", "Raccrocher"));
  const muteButton = el("button", { type: "button", className: "mute", hidden: true }, t("Mute", "Couper le micro"));
  const holdButton = el("button", { type: "button", className: "hold", hidden: true }, t("Hold", "Mettre en attente"));
  // Transfer: to an available technician or a team, from /api/oncall (fetched per call).
  const transferBox = el("div", { className: "transfer-box", hidden: true });
  const transferLabel = el("label", {}, t("Transfer to ", "Transférer à "));
  const transferSelect = el("select", { className: "transfer-to" });
  transferLabel.append(transferSelect);
  const transferButton = el("button", { type: "button", className: "transfer" }, t("Transfer", "Transférer"));
  transferBox.append(transferLabel, transferButton);
  const problem = el("p", { className: "phone-error", role: "alert" });
  const keypad = el("div", { className: "keypad", hidden: true, role: "group" });
  keypad.setAttribute("aria-label", t("Keypad", "Clavier"));
  for (const key of "123456789*0#") {
    const b = el("button", { type: "button", value: key }, key);
    b.dataset.key = key;
    b.addEventListener("click", () => sendDigit(key));
    keypad.append(b);
  }
  const remoteAudio = el("audio", { autoplay: true });
  const buttons = el("div", { className: "phone-buttons" });
  buttons.append(answerButton, declineButton, hangupButton, muteButton, holdButton);
  panel.append(title, status, mic, caller, buttons, transferBox, problem, keypad, remoteAudio);

  let ws = null;
  let call = null; // { id, caller, pc, stream, answered, connected, hold: null|"asking"|"held"|"resuming" }
  let audio = null; // { ctx, analyser } for the caller's voice
  let ring = null;
  let lastEnded = null; // why the last call left the page
  let me = ""; // our account name, from the binding the gateway gave us

  function setStatus(state, text) {
    panel.dataset.state = state;
    status.textContent = text;
  }

  // The microphone permission, shown before a call needs it.
  if (navigator.permissions) {
    navigator.permissions.query({ name: "microphone" }).then(p => {
      const show = () => {
        mic.dataset.permission = p.state;
        mic.textContent = t("Microphone: ", "Micro : ") + ({
          granted: t("allowed", "autorisé"),
          denied: t("blocked (allow it in the site settings)", "bloqué (autorisez-le dans les réglages du site)"),
          prompt: t("will be asked on the first call", "demandé au premier appel"),
        }[p.state] || p.state);
      };
      show();
      p.onchange = show;
    }).catch(() => {});
  }

  // Available / Away lives in the panel and switches without reloading the page (a reload
  // would drop a call in progress): the home page's form, posted with fetch. Without this
  // script the same form still works with a reload.
  const presence = document.querySelector("#me .mystate");
  if (presence) {
    panel.insertBefore(presence, mic);
    const form = presence.querySelector("form");
    panel.dataset.presence = form.elements.presence.value === "away" ? "available" : "away";
    form.addEventListener("submit", e => {
      e.preventDefault();
      const button = form.querySelector("button");
      button.disabled = true;
      fetch(form.action, {
        method: "POST",
        headers: { Accept: "application/json" },
        body: new URLSearchParams(new FormData(form)),
      })
        .then(r => (r.ok ? r.json() : Promise.reject(r.status)))
        .then(p => {
          const badge = presence.querySelector(".presence");
          if (badge) badge.outerHTML = p.badge;
          form.elements.presence.value = p.next;
          button.textContent = p.button;
          panel.dataset.presence = p.choice;
        })
        .catch(e => console.warn("presence not changed", e))
        .finally(() => (button.disabled = false));
    });
  }

  function send(message) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message));
  }

  function connect() {
    ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/phone");
    ws.onmessage = e => receive(JSON.parse(e.data));
    ws.onclose = () => {
      endCall();
      setStatus("offline", t("Phone offline; reconnecting…", "Téléphone hors ligne ; reconnexion…"));
      setTimeout(connect, 3000);
    };
  }

  function receive(m) {
    switch (m.type) {
      case "ready":
        me = (m.contact.match(/^sip:(.*)-web-[^@]*@/) || [])[1] || "";
        refreshPresence();
        setStatus("ready", t("Ready: calls for you ring here when you are available.", "Prêt : vos appels sonnent ici quand vous êtes disponible."));
        break;
      case "incoming":
        call = { id: m.call, caller: m.caller, outgoing: !!m.outgoing };
        problem.textContent = "";
        caller.textContent = m.caller;
        if (call.outgoing) {
          // The technician's own "Call back": no ring, the page is their end of it.
          answer();
          break;
        }
        setStatus("ringing", t("Ringing", "Ça sonne"));
        answerButton.hidden = declineButton.hidden = false;
        startRing();
        break;
      case "answer":
        if (call && call.pc && m.call === call.id) {
          call.pc.setRemoteDescription({ type: "answer", sdp: m.sdp }).catch(e => console.warn("answer", e));
        }
        break;
      case "connected":
        if (call && m.call === call.id) {
          call.connected = true;
          if (call.outgoing) setStatus("in-call", callingText(call));
          else setStatus("in-call", t("In call", "En communication"));
          loadTransferTargets();
        }
        break;
      case "hold":
        if (call && m.call === call.id) showHold(m.on_hold);
        break;
      case "ended":
        if (call && m.call === call.id) {
          lastEnded = m.reason;
          endCall();
        }
        break;
      case "error":
        console.warn("softphone:", m.message);
        // A hold, resume or transfer that Hotline refused: the call stays as it was.
        if (call && (call.hold === "asking" || call.hold === "resuming")) showHold(call.hold === "resuming");
        if (call && call.transferring) {
          call.transferring = false;
          transferButton.disabled = false;
          problem.textContent = m.message;
          setStatus("in-call", t("In call", "En communication"));
        }
        break;
    }
  }

  // A ring: two tones, two seconds on, four off, while the call rings (heard once the page has
  // had a click, as browsers require for sound).
  function startRing() {
    stopRing();
    try {
      const ctx = new AudioContext();
      const gain = ctx.createGain();
      gain.gain.value = 0;
      gain.connect(ctx.destination);
      for (const hz of [440, 480]) {
        const o = ctx.createOscillator();
        o.frequency.value = hz;
        o.connect(gain);
        o.start();
      }
      const cadence = () => {
        gain.gain.setValueAtTime(0.1, ctx.currentTime);
        gain.gain.setValueAtTime(0, ctx.currentTime + 2);
      };
      cadence();
      ring = { ctx, timer: setInterval(cadence, 6000) };
    } catch (e) {
      ring = null;
    }
  }

  function stopRing() {
    if (!ring) return;
    clearInterval(ring.timer);
    ring.ctx.close();
    ring = null;
  }

  async function answer() {
    if (!call || call.pc) return;
    stopRing();
    answerButton.hidden = declineButton.hidden = true;
    const current = call;
    if (current.outgoing) {
      setStatus("calling", callingText(current));
    } else {
      setStatus("connecting", t("Connecting the call…", "Connexion de l'appel…"));
      // The screen pop's ticket opens beside this tab now, while the click allows a new tab.
      const card = document.getElementById("ringing");
      if (card && card.dataset.reference) window.open("/tickets/" + card.dataset.reference, "hotline-ticket");
    }
    try {
      audio = { ctx: new AudioContext() };
      current.stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      const pc = (current.pc = new RTCPeerConnection({ iceServers: iceServers.length ? [{ urls: iceServers }] : [] }));
      for (const track of current.stream.getAudioTracks()) current.sender = pc.addTrack(track, current.stream);
      pc.ontrack = e => {
        const stream = e.streams[0] || new MediaStream([e.track]);
        remoteAudio.srcObject = stream;
        remoteAudio.play().catch(() => {});
        audio.analyser = audio.ctx.createAnalyser();
        audio.analyser.fftSize = 4096;
        audio.ctx.createMediaStreamSource(stream).connect(audio.analyser);
      };
      pc.onconnectionstatechange = () => {
        if (pc.connectionState === "failed") hangup();
      };
      await pc.setLocalDescription(await pc.createOffer());
      // One complete offer (no trickle ICE): wait for the candidates, at most 3 s.
      await new Promise(done => {
        if (pc.iceGatheringState === "complete") return done();
        pc.addEventListener("icegatheringstatechange", () => pc.iceGatheringState === "complete" && done());
        setTimeout(done, 3000);
      });
      if (call !== current) return;
      current.answered = true;
      hangupButton.hidden = muteButton.hidden = holdButton.hidden = keypad.hidden = false;
      send({ type: "answer", call: current.id, sdp: pc.localDescription.sdp });
    } catch (e) {
      console.warn("cannot answer", e);
      setStatus("ready", t("Cannot use the microphone: ", "Micro indisponible : ") + e.message);
      send({ type: "decline", call: current.id });
      endCall();
    }
  }

  function decline() {
    if (!call) return;
    send({ type: "decline", call: call.id });
    endCall();
  }

  function hangup() {
    if (!call) return;
    send({ type: "hangup", call: call.id });
    endCall();
  }

  function endCall() {
    stopRing();
    if (call) {
      if (call.pc) call.pc.close();
      if (call.stream) call.stream.getTracks().forEach(track => track.stop());
    }
    if (audio) audio.ctx.close();
    audio = null;
    call = null;
    remoteAudio.srcObject = null;
    caller.textContent = "";
    answerButton.hidden = declineButton.hidden = hangupButton.hidden = muteButton.hidden = holdButton.hidden = keypad.hidden = true;
    transferBox.hidden = true;
    transferButton.disabled = false;
    holdButton.textContent = t("Hold", "Mettre en attente");
    holdButton.setAttribute("aria-pressed", "false");
    holdButton.disabled = false;
    muteButton.textContent = t("Mute", "Couper le micro");
    muteButton.setAttribute("aria-pressed", "false");
    if (ws && ws.readyState === WebSocket.OPEN) setStatus("ready", t("Ready", "Prêt"));
  }

  // The microphone is sent when the call is neither muted nor on hold.
  function applyMicrophone() {
    if (!call || !call.stream) return;
    const track = call.stream.getAudioTracks()[0];
    if (track) track.enabled = !call.muted && !call.hold;
  }

  function toggleMute() {
    if (!call || !call.stream) return;
    call.muted = !call.muted;
    applyMicrophone();
    muteButton.setAttribute("aria-pressed", String(call.muted));
    muteButton.textContent = call.muted ? t("Unmute", "Rétablir le micro") : t("Mute", "Couper le micro");
  }

  // Hold asks Hotline (a re-INVITE on the gateway's leg; the caller hears music) and waits for
  // its "hold" reply before saying so; the microphone stops at once.
  function toggleHold() {
    if (!call || !call.connected || call.hold === "asking" || call.hold === "resuming") return;
    const resume = call.hold === "held";
    call.hold = resume ? "resuming" : "asking";
    holdButton.disabled = true;
    applyMicrophone();
    send({ type: resume ? "resume" : "hold", call: call.id });
  }

  function showHold(onHold) {
    call.hold = onHold ? "held" : null;
    applyMicrophone();
    holdButton.disabled = false;
    holdButton.setAttribute("aria-pressed", String(onHold));
    holdButton.textContent = onHold ? t("Resume", "Reprendre") : t("Hold", "Mettre en attente");
    if (onHold) setStatus("on-hold", t("On hold", "En attente"));
    else setStatus("in-call", t("In call", "En communication"));
  }

  function callingText(c) {
    return t("Calling ", "Appel de ") + c.caller + "…";
  }

  // Who the call can go to: the teams, and the technicians available now (not us).
  function loadTransferTargets() {
    fetch("/api/oncall?days=1", { headers: { Accept: "application/json" } })
      .then(r => (r.ok ? r.json() : Promise.reject(r.status)))
      .then(board => {
        transferSelect.replaceChildren();
        for (const tech of board.technicians || []) {
          if (tech.presence === "available" && tech.name !== me) {
            transferSelect.append(el("option", { value: tech.name }, tech.name));
          }
        }
        for (const team of board.teams || []) {
          transferSelect.append(el("option", { value: team.name }, team.name + t(" (team)", " (équipe)")));
        }
        transferBox.hidden = !call || !call.connected || transferSelect.options.length === 0;
      })
      .catch(e => console.warn("transfer targets", e));
  }

  // Hotline answers the REFER, then hangs up this leg ("ended", reason "transferred"); a
  // refusal comes back as an "error" and the call stays.
  function transfer() {
    if (!call || !call.connected || call.transferring || !transferSelect.value) return;
    call.transferring = true;
    transferButton.disabled = true;
    problem.textContent = "";
    setStatus("transferring", t("Transferring to ", "Transfert vers ") + transferSelect.value + "…");
    send({ type: "transfer", call: call.id, to: transferSelect.value });
  }

  // The badge the page was served with was computed before this page was a phone: ask again.
  function refreshPresence() {
    fetch("/", { headers: { Accept: "text/html" } })
      .then(r => (r.ok ? r.text() : Promise.reject(r.status)))
      .then(html => {
        const fresh = new DOMParser().parseFromString(html, "text/html").querySelector(".mystate .presence");
        const badge = panel.querySelector(".mystate .presence") || document.querySelector(".mystate .presence");
        if (fresh && badge) badge.replaceWith(fresh);
      })
      .catch(() => {});
  }

  // Keypad digits go to the far end as RFC 4733 events (RTCDTMFSender).
  function sendDigit(key) {
    if (call && call.sender && call.sender.dtmf) call.sender.dtmf.insertDTMF(key, 120, 80);
  }

  answerButton.addEventListener("click", answer);
  declineButton.addEventListener("click", decline);
  hangupButton.addEventListener("click", hangup);
  muteButton.addEventListener("click", toggleMute);
  holdButton.addEventListener("click", toggleHold);
  transferButton.addEventListener("click", transfer);
  // Closing the tab ends the call at once (the gateway also sees the socket close).
  window.addEventListener("pagehide", hangup);

  // For the screen pop (phone.js) and the tests: whether a call is up here, and the loudest
  // frequency of what the caller's side sends (WebAudio analyser).
  window.hotlineSoftphone = {
    inCall: () => !!(call && call.answered),
    state: () => panel.dataset.state,
    lastEnded: () => lastEnded,
    heardHz: () => {
      if (!audio || !audio.analyser) return 0;
      const bins = new Float32Array(audio.analyser.frequencyBinCount);
      audio.analyser.getFloatFrequencyData(bins);
      let best = 0;
      for (let i = 1; i < bins.length; i++) if (bins[i] > bins[best]) best = i;
      return bins[best] < -90 ? 0 : (best * audio.ctx.sampleRate) / audio.analyser.fftSize;
    },
  };
  connect();
})();

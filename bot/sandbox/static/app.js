/* The sandbox web chat: people talking to the bot through the emulator's control API.
 *
 * Every action goes through /_emulator/ exactly as a test or curl would: sending
 * text (POST send), pressing inline buttons (POST callback), sending files (POST
 * document, photo, voice, audio, video, animation, by the file's type), voice and
 * video messages, stickers, locations and contacts from the "+" menu, replying to a
 * message (its ↩ button or a double click, as Telegram's swipe-to-reply: the next
 * message carries reply_to_message_id) and reading a chat (GET
 * chats/{id}/messages, long-polled). Bot HTML is rebuilt node by node from a
 * whitelist; raw bot text never reaches innerHTML. The page's own words come from
 * strings.js (t()); switching language re-renders the page from the kept state.
 */
"use strict";

const API = "/_emulator";
const LONG_POLL_SECONDS = 25;
const BACKGROUND_POLL_MS = 1500;
const USERS_REFRESH_EVERY = 4; // background ticks between user list refreshes

// The demo shop's people; their names are the shop's data, their role words the page's.
const DEFAULT_PEOPLE = [
  { id: 1001, first_name: "Wang", role: "owner" },
  { id: 1002, first_name: "Li", role: "rep" },
  { id: 1003, first_name: "Chen", role: "rep" },
  { id: 2001, first_name: "Zhao", role: "customer" },
  { id: 2002, first_name: "Sun", role: "customer" },
];

// Telegram's HTML tags and what they become on the page.
const TAGS = {
  b: "b", strong: "b", i: "i", em: "i", u: "u", ins: "u", s: "s", strike: "s", del: "s",
  code: "code", pre: "pre", a: "a", blockquote: "blockquote",
};
const DROPPED_TAGS = new Set(["script", "style", "template", "iframe", "object", "embed"]);
const LINK_PROTOCOLS = new Set(["http:", "https:", "tg:"]);
const TOKEN_PATTERN = /(https?:\/\/[^\s<>"']+)|((?<![\w/.:@<-])\/[A-Za-z0-9_]{1,32}(?:@\w+)?)(?![\w/])/g;

const state = {
  bot: { username: "", first_name: "Bot" },
  people: new Map(),
  panes: [],
  focused: 0,
  commands: [],
  ticks: 0,
};

/* ---------- control API ---------- */

async function api(path, options = {}) {
  const response = await fetch(API + path, options);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(body.error || body.description || `HTTP ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return body;
}

function postJson(path, body) {
  return api(path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

/* ---------- people ---------- */

function makePerson(fields) {
  return {
    id: fields.id,
    name: fields.name || null,
    first_name: fields.first_name,
    language_code: fields.language_code || null,
    role: fields.role || "other",
    seq: 0,
    messages: new Map(),
    unread: 0,
    loaded: false,
    // In the page's current language, so a language switch renames the demo's roles.
    get label() {
      return personLabel(this);
    },
  };
}

function personLabel(person) {
  if (person.role === "owner") return t("persona.owner");
  if (person.role === "rep") return t("persona.rep", { name: person.first_name });
  if (person.role === "customer") return t("persona.customer", { name: person.first_name });
  return person.name || t("persona.unnamed", { id: person.id });
}

function nameOf(user) {
  return [user.first_name, user.last_name].filter(Boolean).join(" ");
}

/* The Telegram language_code of people the page creates: the page's language. */
function newPersonLanguage() {
  return TELEGRAM_LANGUAGE[currentLanguage];
}

async function ensureDefaultPeople() {
  const { users } = await api("/users");
  const known = new Map(users.map((user) => [user.id, user]));
  for (const fields of DEFAULT_PEOPLE) {
    const existing = known.get(fields.id);
    let languageCode = existing ? existing.language_code : null;
    // The demo's people speak the page's language unless they were given one, so a
    // Chinese page's owner and customers hear the bot in Chinese.
    if (!existing || existing.first_name === `User ${fields.id}` || !languageCode) {
      languageCode = languageCode || newPersonLanguage();
      await postJson("/users", {
        id: fields.id, first_name: existing ? existing.first_name : fields.first_name,
        language_code: languageCode,
      });
    }
    state.people.set(fields.id, makePerson({ ...fields, language_code: languageCode }));
  }
  addUnknownUsers(users);
}

function addUnknownUsers(users) {
  let added = false;
  for (const user of users) {
    if (!state.people.has(user.id)) {
      state.people.set(user.id, makePerson({ id: user.id, name: nameOf(user),
        first_name: user.first_name, language_code: user.language_code }));
      added = true;
    }
  }
  if (added) renderPeople();
}

async function refreshUsers() {
  const { users } = await api("/users");
  addUnknownUsers(users);
}

function nextFreeId() {
  let id = 3001;
  while (state.people.has(id)) id += 1;
  return id;
}

async function addPerson(event) {
  event.preventDefault();
  const nameInput = document.getElementById("add-name");
  const idInput = document.getElementById("add-id");
  const name = nameInput.value.trim();
  const rawId = idInput.value.trim();
  const id = rawId ? Number(rawId) : nextFreeId();
  // "" is a choice too: a user whose Telegram sends no language (the shop's default applies).
  const languageCode = document.getElementById("add-language").value;
  if (!name) return;
  let user;
  try {
    ({ user } = await postJson("/users", { id, first_name: name, language_code: languageCode }));
  } catch (error) {
    showToast(t("add.failed", { name, error: error.message }));
    return;
  }
  const known = state.people.get(id);
  if (known) {
    known.language_code = user.language_code || null;
  } else {
    state.people.set(id, makePerson({ id, name, first_name: name,
      language_code: user.language_code }));
  }
  nameInput.value = "";
  idInput.value = "";
  updateAddIdPlaceholder();
  renderPeople();
  openPerson(id);
}

function updateAddIdPlaceholder() {
  document.getElementById("add-id").placeholder = t("add.idSuggested", { id: nextFreeId() });
}

/* ---------- syncing chats ---------- */

async function syncPerson(person, waitSeconds, signal) {
  const query = `after=${person.seq}&wait=${waitSeconds}`;
  const data = await api(`/chats/${person.id}/messages?${query}`, { signal });
  applyMessages(person, data);
}

function applyMessages(person, data) {
  const changed = [];
  for (const message of data.messages) {
    const previous = person.messages.get(message.message_id);
    if (previous && previous.seq >= message.seq) continue;
    const fresh = !previous && person.loaded; // history loaded on start counts as read
    if (fresh && message.from_bot && !message.deleted && !isVisible(person)) {
      person.unread += 1;
    }
    person.messages.set(message.message_id, message);
    changed.push(message);
  }
  person.seq = Math.max(person.seq, data.seq);
  person.loaded = true;
  if (changed.length) {
    for (const pane of state.panes) {
      if (pane.person === person) updatePaneMessages(pane, changed);
    }
    renderPeople();
  }
}

function isVisible(person) {
  return state.panes.some((pane) => pane.person === person);
}

async function paneLoop(pane) {
  while (pane.person) {
    const person = pane.person;
    const controller = new AbortController();
    pane.controller = controller;
    try {
      await syncPerson(person, person.loaded ? LONG_POLL_SECONDS : 0, controller.signal);
    } catch (error) {
      if (error.name !== "AbortError") await sleep(1000);
    }
  }
}

/* Chats not on screen are checked briefly in turn, keeping few connections open. */
async function syncBackground() {
  state.ticks += 1;
  if (state.ticks % USERS_REFRESH_EVERY === 0) await refreshUsers();
  for (const person of state.people.values()) {
    if (!isVisible(person)) await syncPerson(person, 0);
  }
}

async function backgroundTick() {
  try {
    await syncBackground();
  } catch (error) {
    console.warn("background sync failed", error);
  }
  setTimeout(backgroundTick, BACKGROUND_POLL_MS);
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/* ---------- actions ---------- */

async function sendText(person, text, replyTo = null) {
  await sendContent(person, "/send", { text }, replyTo);
}

/* Send a message of any kind through a control endpoint, as a reply when replyTo is set. */
async function sendContent(person, path, fields, replyTo = null) {
  const body = { user_id: person.id, ...fields };
  if (replyTo) body.reply_to_message_id = replyTo.message_id;
  try {
    await postJson(path, body);
  } catch (error) {
    showToast(error.status === 409
      ? t("error.blocked", { label: person.label })
      : t("error.send", { error: error.message }));
  }
}

/* What the "+" menu sends: content a phone would record or pick, with placeholder files. */
const EXTRA_CONTENT = [
  { label: () => t("more.voice"), path: "/voice", fields: () => ({ duration: 3 }) },
  { label: () => t("more.videoNote"), path: "/video_note", fields: () => ({ duration: 5 }) },
  { label: () => t("more.sticker"), path: "/sticker", fields: () => ({ emoji: "👍" }) },
  {
    label: () => t("more.location"),
    path: "/location",
    fields: () => ({ latitude: 31.2304, longitude: 121.4737 }),
  },
  {
    label: () => t("more.contact"),
    path: "/contact",
    fields: (person) => ({
      phone_number: `+8613800${String(person.id).padStart(6, "0").slice(-6)}`,
      first_name: person.first_name || person.label,
      contact_user_id: person.id,
    }),
  },
];

async function pressButton(person, message, data) {
  try {
    const { callback_query_id: queryId } = await postJson("/callback", {
      user_id: person.id, message_id: message.message_id, data,
    });
    showCallbackAnswer(queryId);
  } catch (error) {
    showToast(t("error.button", { error: error.message }));
  }
}

async function showCallbackAnswer(queryId) {
  for (let attempt = 0; attempt < 10; attempt += 1) {
    await sleep(300);
    const record = await api(`/callbacks/${encodeURIComponent(queryId)}`).catch(() => null);
    if (record && record.answered) {
      if (record.answer && record.answer.text) showToast(record.answer.text);
      return;
    }
  }
}

/* Which kind of message a picked file becomes, as a Telegram client sends it. */
function fileEndpoint(file) {
  const type = (file.type || "").toLowerCase();
  if (type === "image/gif") return "/animation";
  if (["image/png", "image/jpeg", "image/webp"].includes(type)) return "/photo";
  if (type === "audio/ogg" || type === "audio/opus") return "/voice";
  if (type.startsWith("audio/")) return "/audio";
  if (type.startsWith("video/")) return "/video";
  return "/document";
}

async function sendFile(person, file, replyTo = null) {
  const form = new FormData();
  form.append("user_id", String(person.id));
  if (replyTo) form.append("reply_to_message_id", String(replyTo.message_id));
  form.append("file", file, file.name);
  try {
    await api(fileEndpoint(file), { method: "POST", body: form });
  } catch (error) {
    showToast(t("error.sendFile", { file: file.name, error: error.message }));
  }
}

/* A t.me (or tg://resolve) link to this bot with a start payload -> "/start <payload>". */
function deepLinkCommand(href) {
  let url;
  try {
    url = new URL(href);
  } catch {
    return null;
  }
  let username = null;
  if (url.protocol === "https:" || url.protocol === "http:") {
    if (!["t.me", "telegram.me", "www.t.me"].includes(url.hostname)) return null;
    username = url.pathname.replace(/^\//, "").split("/")[0];
  } else if (url.protocol === "tg:" && url.hostname === "resolve") {
    username = url.searchParams.get("domain");
  }
  if (!username || username.toLowerCase() !== state.bot.username.toLowerCase()) return null;
  const payload = url.searchParams.get("start");
  return payload ? `/start ${payload}` : "/start";
}

/* ---------- rendering bot text ---------- */

function renderHtml(html, person) {
  const doc = new DOMParser().parseFromString(html, "text/html");
  const fragment = document.createDocumentFragment();
  for (const node of doc.body.childNodes) fragment.append(convertNode(node, person, false));
  return fragment;
}

function convertNode(node, person, plain) {
  if (node.nodeType === Node.TEXT_NODE) {
    return plain ? document.createTextNode(node.data) : linkify(node.data, person);
  }
  const fragment = document.createDocumentFragment();
  if (node.nodeType !== Node.ELEMENT_NODE) return fragment;
  const tag = node.localName;
  if (DROPPED_TAGS.has(tag)) return fragment;
  const element = convertElement(node, person);
  const target = element || fragment;
  const childPlain = plain || ["a", "code", "pre"].includes(tag);
  for (const child of node.childNodes) target.append(convertNode(child, person, childPlain));
  if (element) fragment.append(element, ...openAsButton(element));
  return fragment;
}

function convertElement(node, person) {
  const tag = node.localName;
  if (tag === "tg-spoiler" || (tag === "span" && node.classList.contains("tg-spoiler"))) {
    return spoiler();
  }
  if (tag === "a") return safeLink(node.getAttribute("href"), person);
  const mapped = TAGS[tag];
  if (!mapped) return null; // unknown tags keep their text only
  const element = document.createElement(mapped);
  if (tag === "blockquote" && node.hasAttribute("expandable")) {
    element.className = "expandable";
  }
  return element;
}

function spoiler() {
  const element = document.createElement("span");
  element.className = "spoiler";
  element.title = t("message.spoiler");
  element.addEventListener("click", () => element.classList.add("revealed"));
  return element;
}

function safeLink(href, person) {
  let url;
  try {
    url = new URL(href || "", "http://invalid.invalid/");
  } catch {
    return null;
  }
  if (!href || !LINK_PROTOCOLS.has(url.protocol) || url.hostname === "invalid.invalid") {
    return null;
  }
  const link = document.createElement("a");
  link.href = url.href;
  link.target = "_blank";
  link.rel = "noopener noreferrer";
  const command = deepLinkCommand(url.href);
  if (command) {
    link.classList.add("deep-link");
    link.dataset.command = command;
    link.title = t("link.opensAs", { label: person.label, command });
    link.addEventListener("click", (event) => {
      event.preventDefault();
      sendText(person, command);
    });
  }
  return link;
}

/* Next to a deep link: a button to open it as someone else (forwarding it to them). */
function openAsButton(element) {
  if (!element.classList || !element.classList.contains("deep-link")) return [];
  const button = document.createElement("button");
  button.type = "button";
  button.className = "open-as";
  button.textContent = t("link.openAs");
  button.title = t("link.openAsTitle");
  button.addEventListener("click", (event) => {
    event.stopPropagation();
    showOpenAs(button, element.dataset.command);
  });
  return [" ", button];
}

function showOpenAs(anchor, command) {
  const menu = document.getElementById("open-as");
  const items = [...state.people.values()].map((person) => {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = person.label;
    button.addEventListener("click", () => {
      hideOpenAs();
      openPerson(person.id);
      sendText(person, command);
    });
    item.append(button);
    return item;
  });
  const title = document.createElement("li");
  title.className = "muted";
  title.textContent = t("link.openAsMenu", { command: command.split(" ")[0] });
  menu.replaceChildren(title, ...items);
  const box = anchor.getBoundingClientRect();
  menu.style.left = `${Math.min(box.left, window.innerWidth - 220)}px`;
  menu.style.top = `${Math.min(box.bottom + 4, window.innerHeight - 280)}px`;
  menu.hidden = false;
}

function hideOpenAs() {
  document.getElementById("open-as").hidden = true;
}

/* Plain text with Telegram's automatic links: URLs and /commands. */
function linkify(text, person) {
  const fragment = document.createDocumentFragment();
  let last = 0;
  for (const match of text.matchAll(TOKEN_PATTERN)) {
    let token = match[0];
    if (match[1]) token = token.replace(/[.,;:!?)\]]+$/, "");
    fragment.append(text.slice(last, match.index));
    fragment.append(match[1] ? urlLink(token, person) : commandLink(token, person));
    last = match.index + token.length;
  }
  fragment.append(text.slice(last));
  return fragment;
}

function urlLink(token, person) {
  const link = safeLink(token, person);
  if (!link) return document.createTextNode(token);
  link.textContent = token;
  const fragment = document.createDocumentFragment();
  fragment.append(link, ...openAsButton(link));
  return fragment;
}

function commandLink(token, person) {
  const link = document.createElement("a");
  link.href = "#";
  link.className = "command";
  link.textContent = token;
  link.addEventListener("click", (event) => {
    event.preventDefault();
    sendText(person, token.replace(/@\w+$/, ""));
  });
  return link;
}

/* ---------- rendering messages ---------- */

function renderMessage(person, message) {
  const row = document.createElement("div");
  row.className = `message ${message.from_bot ? "bot" : "user"}`;
  if (message.kind === "service") row.classList.add("service");
  row.dataset.messageId = String(message.message_id);
  const bubble = document.createElement("div");
  bubble.className = "bubble";
  const quote = renderQuote(person, message);
  if (quote) bubble.append(quote);
  const media = renderMedia(message);
  if (media) bubble.append(media);
  const body = renderBody(person, message);
  if (body) bubble.append(body);
  bubble.append(renderMeta(message));
  bubble.addEventListener("dblclick", () => startReply(person, message));
  row.append(bubble, replyButton(person, message));
  const keyboard = renderKeyboard(person, message);
  if (keyboard) row.append(keyboard);
  return row;
}

/* Telegram's swipe-to-reply: the next message from this chat replies to this one. */
function replyButton(person, message) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "reply-action";
  button.title = t("reply.action");
  button.setAttribute("aria-label", t("reply.action"));
  button.textContent = "↩";
  button.addEventListener("click", (event) => {
    event.stopPropagation();
    startReply(person, message);
  });
  return button;
}

/* The message a reply quotes, above the reply's own content; a click shows it. */
function renderQuote(person, message) {
  const repliedId = message.reply_to_message_id;
  if (!repliedId) return null;
  const replied = person.messages.get(repliedId);
  const quote = document.createElement("div");
  quote.className = "quote";
  const author = document.createElement("strong");
  author.textContent = !replied ? "" : replied.from_bot ? state.bot.first_name : person.label;
  const preview = document.createElement("span");
  preview.textContent = replied && !replied.deleted
    ? messagePreview(replied)
    : t("message.deleted");
  quote.append(author, preview);
  quote.addEventListener("click", () => {
    const pane = state.panes.find((candidate) => candidate.person === person);
    const row = pane && pane.list.querySelector(`[data-message-id="${repliedId}"]`);
    if (row) row.scrollIntoView({ block: "center", behavior: "smooth" });
  });
  return quote;
}

/* One line saying what a message is: its text, else its kind. */
function messagePreview(message) {
  if (message.text) return message.text.split("\n")[0];
  if (message.animation) return `🎞 ${t("kind.gif")}`;
  if (message.document) return `📄 ${message.document.file_name || t("kind.file")}`;
  if (message.photo) return `🖼 ${t("kind.photo")}`;
  if (message.voice) return `🎤 ${t("kind.voice")}`;
  if (message.video_note) return `⭕ ${t("kind.videoNote")}`;
  if (message.video) return `🎬 ${t("kind.video")}`;
  if (message.audio) return `🎵 ${audioTitle(message.audio)}`;
  if (message.sticker) return `${message.sticker.emoji || ""} ${t("kind.sticker")}`.trim();
  if (message.location) return `📍 ${t("kind.location")}`;
  if (message.contact) return `👤 ${contactName(message.contact)}`;
  if (message.kind === "service") return `📌 ${t("kind.pinned")}`;
  return message.kind;
}

function renderBody(person, message) {
  if (!message.text && !message.html) return null;
  const body = document.createElement("div");
  body.className = "text";
  if (message.html !== null && message.html !== undefined) {
    body.append(renderHtml(message.html, person));
  } else {
    body.append(message.from_bot ? linkify(message.text, person) : message.text);
  }
  return body;
}

function renderMedia(message) {
  if (message.photo && message.photo.length) return renderPhoto(message.photo);
  if (message.animation) return renderFile("🎞", t("kind.gif"), message.animation);
  if (message.document) return renderDocument(message.document);
  if (message.voice) return renderFile("🎤", t("kind.voice"), message.voice);
  if (message.video_note) return renderFile("⭕", t("kind.videoNote"), message.video_note);
  if (message.video) return renderFile("🎬", t("kind.video"), message.video);
  if (message.audio) return renderFile("🎵", audioTitle(message.audio), message.audio);
  if (message.sticker) return textBlock("sticker", message.sticker.emoji || "🖼");
  if (message.location) {
    const { latitude, longitude } = message.location;
    return textBlock("location", `📍 ${latitude.toFixed(5)}, ${longitude.toFixed(5)}`);
  }
  if (message.contact) {
    return textBlock("contact", `👤 ${contactName(message.contact)}\n${message.contact.phone_number}`);
  }
  if (message.kind === "service") return textBlock("service-text", `📌 ${t("kind.pinned")}`);
  return null;
}

/* A voice, video, video note, audio or GIF: an icon, a label and its length, opening the file. */
function renderFile(icon, label, info) {
  const link = document.createElement("a");
  link.className = "document media-file";
  if (info.url) link.href = info.url;
  link.target = "_blank";
  link.rel = "noopener";
  const badge = document.createElement("span");
  badge.className = "document-icon";
  badge.textContent = icon;
  const name = document.createElement("span");
  name.className = "document-name";
  name.textContent = label;
  const length = document.createElement("span");
  length.className = "document-size muted";
  length.textContent = formatDuration(info.duration);
  link.append(badge, name, length);
  return link;
}

function audioTitle(audio) {
  return [audio.performer, audio.title].filter(Boolean).join(" — ") || audio.file_name
    || t("kind.audio");
}

function contactName(contact) {
  return [contact.first_name, contact.last_name].filter(Boolean).join(" ");
}

function formatDuration(seconds) {
  if (seconds === undefined || seconds === null) return "";
  const whole = Math.max(0, Math.round(seconds));
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, "0")}`;
}

function renderPhoto(sizes) {
  const largest = sizes[sizes.length - 1];
  const link = document.createElement("a");
  link.href = largest.url;
  link.target = "_blank";
  link.rel = "noopener";
  const image = document.createElement("img");
  image.className = "photo";
  image.src = largest.url;
  image.alt = t("kind.photo");
  image.addEventListener("load", () => scrollAllToBottom());
  link.append(image);
  return link;
}

function renderDocument(documentInfo) {
  const link = document.createElement("a");
  link.className = "document";
  link.href = documentInfo.url;
  link.download = documentInfo.file_name || "file";
  const icon = document.createElement("span");
  icon.className = "document-icon";
  icon.textContent = "⬇";
  const name = document.createElement("span");
  name.className = "document-name";
  name.textContent = documentInfo.file_name || t("kind.file");
  const size = document.createElement("span");
  size.className = "document-size muted";
  size.textContent = formatSize(documentInfo.file_size);
  link.append(icon, name, size);
  return link;
}

function textBlock(className, text) {
  const element = document.createElement("div");
  element.className = className;
  element.textContent = text;
  return element;
}

function formatSize(bytes) {
  if (!bytes && bytes !== 0) return "";
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function renderMeta(message) {
  const meta = document.createElement("span");
  meta.className = "meta";
  const time = new Date((message.edit_date || message.date) * 1000);
  const clock = time.toLocaleTimeString(currentLanguage, { hour: "2-digit", minute: "2-digit" });
  meta.textContent = message.edited ? t("message.edited", { time: clock }) : clock;
  return meta;
}

function renderKeyboard(person, message) {
  const markup = message.reply_markup;
  if (!markup || !Array.isArray(markup.inline_keyboard)) return null;
  const keyboard = document.createElement("div");
  keyboard.className = "keyboard";
  for (const row of markup.inline_keyboard) {
    const line = document.createElement("div");
    line.className = "kb-row";
    for (const button of row) line.append(renderButton(person, message, button));
    keyboard.append(line);
  }
  return keyboard;
}

function renderButton(person, message, button) {
  const element = document.createElement("button");
  element.type = "button";
  element.className = "kb-button";
  element.textContent = button.text;
  if (button.callback_data !== undefined) {
    element.addEventListener("click", () => pressButton(person, message, button.callback_data));
  } else if (button.url) {
    element.classList.add("kb-url");
    element.addEventListener("click", () => openButtonUrl(person, button.url));
  } else {
    element.disabled = true;
    element.title = t("message.buttonUnavailable");
  }
  return element;
}

function openButtonUrl(person, href) {
  const command = deepLinkCommand(href);
  if (command) {
    sendText(person, command);
  } else if (safeLink(href, person)) {
    window.open(href, "_blank", "noopener");
  }
}

/* ---------- panes ---------- */

function createPane(person) {
  const element = document.getElementById("pane-template").content.firstElementChild
    .cloneNode(true);
  const pane = {
    element,
    person,
    controller: null,
    list: element.querySelector(".messages"),
    hint: element.querySelector(".empty-hint"),
    persona: element.querySelector(".pane-persona"),
    input: element.querySelector(".text-input"),
    menu: element.querySelector(".command-menu"),
    more: element.querySelector(".more-menu"),
    replyBar: element.querySelector(".reply-bar"),
    replyTo: null,
  };
  translateStatic(element);
  wirePane(pane);
  document.getElementById("panes").append(element);
  state.panes.push(pane);
  showPerson(pane, person);
  paneLoop(pane);
  return pane;
}

function wirePane(pane) {
  const { element } = pane;
  element.addEventListener("focusin", () => focusPane(pane));
  element.addEventListener("pointerdown", () => focusPane(pane));
  element.querySelector(".back").addEventListener("click", () => {
    document.body.classList.remove("chat-open");
  });
  element.querySelector(".composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = pane.input.value.trim();
    if (!text) return;
    pane.input.value = "";
    hideMenu(pane);
    sendText(pane.person, text, takeReply(pane));
  });
  element.querySelector(".file-input").addEventListener("change", (event) => {
    const [file] = event.target.files;
    if (file) sendFile(pane.person, file, takeReply(pane));
    event.target.value = "";
  });
  element.querySelector(".menu-button").addEventListener("click", () => toggleMenu(pane));
  element.querySelector(".more-button").addEventListener("click", () => toggleMore(pane));
  element.querySelector(".reply-cancel").addEventListener("click", () => setReply(pane, null));
  pane.input.addEventListener("keydown", (event) => {
    if (event.key === "Escape") setReply(pane, null);
  });
}

/* Start a reply to a message in the pane showing its chat (the focused one first). */
function startReply(person, message) {
  if (message.kind === "service") return;
  const focused = state.panes[state.focused];
  const pane = focused && focused.person === person
    ? focused
    : state.panes.find((candidate) => candidate.person === person);
  if (!pane) return;
  setReply(pane, message);
  pane.input.focus({ preventScroll: true });
}

function setReply(pane, message) {
  pane.replyTo = message;
  pane.replyBar.hidden = !message;
  if (!message) return;
  const author = message.from_bot ? state.bot.first_name : pane.person.label;
  pane.replyBar.querySelector(".reply-author").textContent = t("reply.to", { author });
  pane.replyBar.querySelector(".reply-preview").textContent = messagePreview(message);
}

/* The message the next one replies to, forgotten once taken. */
function takeReply(pane) {
  const message = pane.replyTo;
  setReply(pane, null);
  return message;
}

function toggleMore(pane) {
  if (!pane.more.hidden) {
    pane.more.hidden = true;
    return;
  }
  hideMenu(pane);
  pane.more.replaceChildren(...EXTRA_CONTENT.map((item) => {
    const entry = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = item.label();
    button.addEventListener("click", () => {
      pane.more.hidden = true;
      sendContent(pane.person, item.path, item.fields(pane.person), takeReply(pane));
    });
    entry.append(button);
    return entry;
  }));
  pane.more.hidden = false;
}

function focusPane(pane) {
  const index = state.panes.indexOf(pane);
  if (index < 0 || index === state.focused) return;
  state.focused = index;
  markFocused();
}

function markFocused() {
  state.panes.forEach((pane, index) => {
    pane.element.classList.toggle("focused", index === state.focused);
  });
  renderPeople();
}

function showPerson(pane, person) {
  pane.person = person;
  person.unread = 0;
  pane.element.dataset.userId = String(person.id);
  renderPaneHeader(pane);
  renderPaneMessages(pane);
  hideMenu(pane);
  pane.more.hidden = true;
  setReply(pane, null);
  scrollToBottom(pane);
  if (pane.controller) pane.controller.abort();
  renderPeople();
}

function renderPaneHeader(pane) {
  const { person } = pane;
  pane.element.querySelector(".pane-bot").textContent = state.bot.first_name;
  pane.element.querySelector(".bot-avatar").textContent = state.bot.first_name.slice(0, 1);
  const persona = t("pane.persona", {
    label: person.label, id: person.id, bot: state.bot.username,
  });
  // The persona's Telegram language decides the bot's language, so it is shown.
  pane.persona.textContent = person.language_code
    ? `${persona} · ${person.language_code}`
    : persona;
  pane.input.placeholder = t("pane.placeholder", { label: person.label });
}

function renderPaneMessages(pane) {
  const { person } = pane;
  const messages = [...person.messages.values()].sort((a, b) => a.message_id - b.message_id);
  pane.list.replaceChildren(...messages.filter((message) => !message.deleted)
    .map((message) => renderMessage(person, message)));
  updateHint(pane);
}

/* Re-render a pane in the current language, keeping its chat, draft, reply and scroll. */
function refreshPane(pane) {
  const { list } = pane;
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  const scrollTop = list.scrollTop;
  renderPaneHeader(pane);
  renderPaneMessages(pane);
  hideMenu(pane);
  pane.more.hidden = true;
  setReply(pane, pane.replyTo);
  if (atBottom) scrollToBottom(pane);
  else list.scrollTop = scrollTop;
}

function updatePaneMessages(pane, changed) {
  let appended = false;
  for (const message of changed) {
    const existing = pane.list.querySelector(`[data-message-id="${message.message_id}"]`);
    if (message.deleted) {
      if (existing) existing.remove();
    } else if (existing) {
      existing.replaceWith(renderMessage(pane.person, message));
    } else {
      insertInOrder(pane.list, renderMessage(pane.person, message), message.message_id);
      appended = true;
    }
  }
  updateHint(pane);
  if (appended) scrollToBottom(pane);
}

function insertInOrder(list, row, messageId) {
  for (const child of list.children) {
    if (Number(child.dataset.messageId) > messageId) {
      list.insertBefore(row, child);
      return;
    }
  }
  list.append(row);
}

function updateHint(pane) {
  const empty = pane.list.children.length === 0;
  pane.hint.hidden = !empty;
  if (!empty) return;
  pane.hint.textContent = pane.person.role === "owner" ? t("hint.owner") : t("hint.other");
}

function scrollToBottom(pane) {
  pane.list.scrollTop = pane.list.scrollHeight;
}

function scrollAllToBottom() {
  state.panes.forEach(scrollToBottom);
}

function openPerson(id) {
  const person = state.people.get(id);
  if (!person) return;
  const pane = state.panes[state.focused] || state.panes[0];
  if (pane.person !== person) showPerson(pane, person);
  document.body.classList.add("chat-open");
  scrollToBottom(pane);
  history.replaceState(null, "", `#${id}`);
  pane.input.focus({ preventScroll: true });
}

function toggleSplit() {
  const button = document.getElementById("split-toggle");
  if (state.panes.length > 1) {
    const pane = state.panes.pop();
    if (pane.controller) pane.controller.abort();
    pane.person = null;
    pane.element.remove();
    state.focused = 0;
    button.setAttribute("aria-pressed", "false");
  } else {
    const shown = state.panes[0].person;
    const other = [...state.people.values()].find((person) => person !== shown);
    createPane(other || shown);
    state.focused = 1;
    button.setAttribute("aria-pressed", "true");
  }
  document.body.classList.toggle("split", state.panes.length > 1);
  markFocused();
}

/* ---------- command menu ---------- */

function commandsFor(person) {
  const chatList = state.commands.find((entry) => entry.scope.type === "chat"
    && Number(entry.scope.chat_id) === person.id && !entry.language_code);
  const defaultList = state.commands.find((entry) => entry.scope.type === "default"
    && !entry.language_code);
  return (chatList || defaultList || { commands: [] }).commands;
}

async function toggleMenu(pane) {
  if (!pane.menu.hidden) {
    hideMenu(pane);
    return;
  }
  try {
    state.commands = (await api("/commands")).commands;
  } catch (error) {
    showToast(t("error.commands", { error: error.message }));
    return;
  }
  pane.menu.replaceChildren(...commandsFor(pane.person).map((item) => menuItem(pane, item)));
  if (!pane.menu.children.length) pane.menu.append(textBlock("muted", t("pane.noCommands")));
  pane.menu.hidden = false;
}

function menuItem(pane, item) {
  const entry = document.createElement("li");
  const button = document.createElement("button");
  button.type = "button";
  const name = document.createElement("strong");
  name.textContent = `/${item.command}`;
  const description = document.createElement("span");
  description.className = "muted";
  description.textContent = item.description;
  button.append(name, description);
  button.addEventListener("click", () => {
    hideMenu(pane);
    sendText(pane.person, `/${item.command}`);
  });
  entry.append(button);
  return entry;
}

function hideMenu(pane) {
  pane.menu.hidden = true;
}

/* ---------- sidebar ---------- */

function renderPeople() {
  const list = document.getElementById("people");
  const focusedPerson = state.panes[state.focused] && state.panes[state.focused].person;
  list.replaceChildren(...[...state.people.values()].map((person) => {
    return personItem(person, person === focusedPerson);
  }));
  const unread = [...state.people.values()].reduce((sum, person) => sum + person.unread, 0);
  document.title = unread ? t("page.titleUnread", { count: unread }) : t("page.title");
}

function personItem(person, selected) {
  const item = document.createElement("li");
  item.className = `person role-${person.role}`;
  item.dataset.userId = String(person.id);
  item.setAttribute("role", "option");
  item.setAttribute("aria-selected", String(selected));
  item.tabIndex = 0;
  const avatar = document.createElement("div");
  avatar.className = "avatar";
  avatar.textContent = (person.first_name || person.label || "?").slice(0, 1).toUpperCase();
  const text = document.createElement("div");
  text.className = "person-text";
  const name = document.createElement("div");
  name.className = "person-name";
  name.textContent = person.label;
  const preview = document.createElement("div");
  preview.className = "person-preview muted";
  preview.textContent = lastPreview(person);
  text.append(name, preview);
  item.append(avatar, text);
  if (person.unread) {
    const badge = document.createElement("span");
    badge.className = "badge";
    badge.textContent = String(person.unread);
    item.append(badge);
  }
  item.addEventListener("click", () => openPerson(person.id));
  item.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") openPerson(person.id);
  });
  return item;
}

function lastPreview(person) {
  let last = null;
  for (const message of person.messages.values()) {
    if (!message.deleted && (!last || message.message_id > last.message_id)) last = message;
  }
  if (!last) return t("message.noneYet", { id: person.id });
  const text = messagePreview(last);
  return last.from_bot ? text : t("message.mine", { text });
}

/* ---------- toast ---------- */

let toastTimer = null;

function showToast(text) {
  const toast = document.getElementById("toast");
  toast.textContent = text;
  toast.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { toast.hidden = true; }, 2500);
}

/* ---------- language ---------- */

/* Show the whole page in the current language; chats, drafts and replies stay. */
function applyLanguage() {
  translateStatic(document);
  document.getElementById("page-language").value = currentLanguage;
  const personLanguage = document.getElementById("add-language");
  if (!personLanguage.dataset.picked) personLanguage.value = newPersonLanguage();
  updateAddIdPlaceholder();
  hideOpenAs();
  state.panes.forEach(refreshPane);
  renderPeople();
}

/* The demo's people who speak the page's old language switch with it; others keep theirs. */
async function followPageLanguage(before, after) {
  if (before === after) return;
  for (const fields of DEFAULT_PEOPLE) {
    const person = state.people.get(fields.id);
    if (!person || person.language_code !== before) continue;
    await postJson("/users", { id: person.id, first_name: person.first_name, language_code: after });
    person.language_code = after;
  }
  state.panes.forEach(refreshPane);
}

function wireLanguage() {
  document.getElementById("page-language").addEventListener("change", async (event) => {
    const before = newPersonLanguage();
    useLanguage(event.target.value, true);
    applyLanguage();
    await followPageLanguage(before, newPersonLanguage());
  });
  // Once someone picks a persona language, a page language switch leaves it alone.
  document.getElementById("add-language").addEventListener("change", (event) => {
    event.target.dataset.picked = "true";
  });
}

/* ---------- start ---------- */

async function start() {
  const info = await api("/state");
  state.bot = info.bot;
  const botName = document.getElementById("bot-name");
  delete botName.dataset.i18n; // the bot's name now, no longer "connecting…"
  botName.textContent = `${info.bot.first_name} · @${info.bot.username}`;
  await ensureDefaultPeople();
  const wanted = Number(location.hash.slice(1));
  const first = state.people.get(wanted) || state.people.get(DEFAULT_PEOPLE[0].id);
  createPane(first);
  markFocused();
  if (state.people.has(wanted)) document.body.classList.add("chat-open");
  document.getElementById("add-person").addEventListener("submit", addPerson);
  document.getElementById("split-toggle").addEventListener("click", toggleSplit);
  updateAddIdPlaceholder();
  window.addEventListener("resize", scrollAllToBottom);
  document.addEventListener("click", (event) => {
    if (!event.target.closest("#open-as")) hideOpenAs();
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") hideOpenAs();
  });
  await syncBackground();
  document.body.dataset.ready = "true";
  setTimeout(backgroundTick, BACKGROUND_POLL_MS);
}

useLanguage(chooseLanguage());
applyLanguage();
wireLanguage();
start().catch((error) => {
  showToast(t("error.emulator", { error: error.message }));
  console.error(error);
});

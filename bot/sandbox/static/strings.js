/* The web chat's own words, one dictionary per language, and the choice of language.
 *
 * Only the page's chrome lives here: what the bot says comes from the bot, in the
 * language of each persona's Telegram language_code, and the demo shop's data
 * (names, products) stays as seeded. The page speaks the language asked for with
 * ?lang=zh-CN|en, else the one last picked with the switch (localStorage), else
 * the browser's (zh* is Chinese). Chinese uses the polite 您 throughout.
 * Placeholders are {name}; every dictionary has the same keys.
 */
"use strict";

const STRINGS = {
  en: {
    "page.title": "SCRM sandbox chat",
    "page.titleUnread": "({count}) SCRM sandbox chat",
    "page.language": "Page language",
    "sidebar.label": "People",
    "sidebar.title": "SCRM sandbox",
    "sidebar.connecting": "connecting…",
    "sidebar.split": "Two chats side by side",
    "sidebar.hint": "Chat with the bot as any of these people. Everything goes through "
      + "the Bot API emulator, as if sent from Telegram.",
    "sidebar.chats": "Chats",
    "add.title": "Add a person",
    "add.name": "First name",
    "add.id": "Telegram user id",
    "add.idSuggested": "Telegram user id ({id})",
    "add.language": "Their Telegram language (the bot answers in it)",
    "add.languageZh": "Chinese (zh-hans)",
    "add.languageEn": "English (en)",
    "add.languageNone": "No language (the shop's default)",
    "add.submit": "Add",
    "add.failed": "Could not add {name}: {error}",
    "persona.owner": "Owner",
    "persona.rep": "Rep {name}",
    "persona.customer": "Customer {name}",
    "persona.unnamed": "User {id}",
    "pane.back": "Back to chats",
    "pane.persona": "you are {label} ({id}) · @{bot}",
    "pane.placeholder": "Message as {label}",
    "pane.message": "Message",
    "pane.commands": "Commands",
    "pane.attach": "Send a file: a photo, GIF, voice, audio or video goes as one, anything "
      + "else as a document (e.g. for /import)",
    "pane.more": "Send a voice or video message, a sticker, a location or your number",
    "pane.send": "Send",
    "pane.noCommands": "No commands set",
    "hint.owner": "No messages yet. In the demo shop you are already its owner, Wang: "
      + "start with /today, /stats or /help. (A shop started with --no-demo first wants "
      + "the owner invite the terminal printed: /start inv_…)",
    "hint.other": "No messages yet. Send /start, or type an invite or join link's /start "
      + "payload.",
    "reply.action": "Reply",
    "reply.to": "Reply to {author}",
    "reply.cancel": "Cancel the reply",
    "more.voice": "🎤 Voice message",
    "more.videoNote": "⭕ Video message",
    "more.sticker": "🙂 Sticker",
    "more.location": "📍 Location",
    "more.contact": "👤 My phone number",
    "link.opensAs": "Opens the bot as {label}: {command}",
    "link.openAs": "open as…",
    "link.openAsTitle": "Open this link as another person",
    "link.openAsMenu": "Open {command}… as",
    "message.spoiler": "Spoiler: click to reveal",
    "message.deleted": "Deleted message",
    "message.edited": "edited {time}",
    "message.mine": "You: {text}",
    "message.noneYet": "id {id}",
    "message.buttonUnavailable": "Not available in the sandbox",
    "kind.gif": "GIF",
    "kind.file": "File",
    "kind.photo": "Photo",
    "kind.voice": "Voice message",
    "kind.videoNote": "Video message",
    "kind.video": "Video",
    "kind.audio": "Audio",
    "kind.sticker": "Sticker",
    "kind.location": "Location",
    "kind.pinned": "Pinned a message",
    "error.blocked": "{label} has blocked the bot",
    "error.send": "Could not send: {error}",
    "error.sendFile": "Could not send {file}: {error}",
    "error.button": "Could not press the button: {error}",
    "error.commands": "Could not load the command menu: {error}",
    "error.emulator": "Cannot reach the emulator: {error}",
  },
  "zh-CN": {
    "page.title": "SCRM 沙盒聊天",
    "page.titleUnread": "({count}) SCRM 沙盒聊天",
    "page.language": "页面语言",
    "sidebar.label": "人员",
    "sidebar.title": "SCRM 沙盒",
    "sidebar.connecting": "正在连接…",
    "sidebar.split": "并排显示两个聊天",
    "sidebar.hint": "您可以扮演下列任何一位与机器人聊天。所有消息都经过 Bot API 模拟器，"
      + "如同从 Telegram 发出。",
    "sidebar.chats": "聊天",
    "add.title": "添加人员",
    "add.name": "名字",
    "add.id": "Telegram 用户 ID",
    "add.idSuggested": "Telegram 用户 ID（{id}）",
    "add.language": "此人的 Telegram 语言（机器人用它回复）",
    "add.languageZh": "中文 (zh-hans)",
    "add.languageEn": "英文 (en)",
    "add.languageNone": "不设语言（按店铺默认）",
    "add.submit": "添加",
    "add.failed": "无法添加 {name}：{error}",
    "persona.owner": "店主",
    "persona.rep": "销售 {name}",
    "persona.customer": "客户 {name}",
    "persona.unnamed": "用户 {id}",
    "pane.back": "返回聊天列表",
    "pane.persona": "您是 {label}（{id}）· @{bot}",
    "pane.placeholder": "以 {label} 的身份发消息",
    "pane.message": "消息",
    "pane.commands": "命令",
    "pane.attach": "发送文件：照片、GIF、语音、音频或视频按原样发送，其他文件作为文档发送"
      + "（例如用于 /import）",
    "pane.more": "发送语音或视频消息、贴纸、位置或您的手机号",
    "pane.send": "发送",
    "pane.noCommands": "尚未设置命令",
    "hint.owner": "还没有消息。在演示店铺中，您已是店主 Wang：可以从 /today、/stats 或 "
      + "/help 开始。（用 --no-demo 启动的店铺需要先发送终端打印的店主邀请：/start inv_…）",
    "hint.other": "还没有消息。请发送 /start，或输入邀请链接、加入链接中 /start 后面的参数。",
    "reply.action": "回复",
    "reply.to": "回复 {author}",
    "reply.cancel": "取消回复",
    "more.voice": "🎤 语音消息",
    "more.videoNote": "⭕ 视频消息",
    "more.sticker": "🙂 贴纸",
    "more.location": "📍 位置",
    "more.contact": "👤 我的手机号",
    "link.opensAs": "以 {label} 的身份打开机器人：{command}",
    "link.openAs": "以他人身份打开…",
    "link.openAsTitle": "以其他人的身份打开此链接",
    "link.openAsMenu": "以谁的身份打开 {command}…",
    "message.spoiler": "剧透：点击显示",
    "message.deleted": "已删除的消息",
    "message.edited": "已编辑 {time}",
    "message.mine": "我：{text}",
    "message.noneYet": "ID {id}",
    "message.buttonUnavailable": "沙盒中不可用",
    "kind.gif": "GIF",
    "kind.file": "文件",
    "kind.photo": "照片",
    "kind.voice": "语音消息",
    "kind.videoNote": "视频消息",
    "kind.video": "视频",
    "kind.audio": "音频",
    "kind.sticker": "贴纸",
    "kind.location": "位置",
    "kind.pinned": "置顶了一条消息",
    "error.blocked": "{label} 已屏蔽机器人",
    "error.send": "无法发送：{error}",
    "error.sendFile": "无法发送 {file}：{error}",
    "error.button": "无法按下按钮：{error}",
    "error.commands": "无法读取命令菜单：{error}",
    "error.emulator": "无法连接模拟器：{error}",
  },
};

const LANGUAGES = Object.keys(STRINGS);
const LANGUAGE_STORAGE_KEY = "scrm-sandbox-language";
// The Telegram language_code a persona created by the page gets, per page language.
const TELEGRAM_LANGUAGE = { en: "en", "zh-CN": "zh-hans" };

let currentLanguage = "en";

/* Return the page's text for key in the current language, with {placeholders} filled. */
function t(key, params = {}) {
  const text = STRINGS[currentLanguage][key] ?? STRINGS.en[key];
  if (text === undefined) {
    console.warn("missing page string", key);
    return key;
  }
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

/* Map a language tag (zh-CN, zh-Hans-CN, zh, en-US…) to a page language, or null. */
function pageLanguageOf(tag) {
  const code = String(tag || "").toLowerCase();
  if (code.startsWith("zh")) return "zh-CN";
  if (code.startsWith("en")) return "en";
  return null;
}

function savedLanguage() {
  try {
    return localStorage.getItem(LANGUAGE_STORAGE_KEY);
  } catch {
    return null; // storage can be off (private mode, file://)
  }
}

/* The page's language: ?lang=, else the remembered choice, else the browser's. */
function chooseLanguage() {
  const asked = pageLanguageOf(new URLSearchParams(location.search).get("lang"));
  if (asked) return asked;
  const saved = pageLanguageOf(savedLanguage());
  if (saved) return saved;
  return pageLanguageOf(navigator.language) === "zh-CN" ? "zh-CN" : "en";
}

/* Switch the page to language; remember it (and keep ?lang= in the address in step). */
function useLanguage(language, remember = false) {
  currentLanguage = LANGUAGES.includes(language) ? language : "en";
  document.documentElement.lang = currentLanguage;
  if (!remember) return;
  try {
    localStorage.setItem(LANGUAGE_STORAGE_KEY, currentLanguage);
  } catch {
    // not remembered, but the page still switches
  }
  const url = new URL(location.href);
  if (url.searchParams.has("lang")) {
    url.searchParams.set("lang", currentLanguage);
    history.replaceState(null, "", url);
  }
}

/* Fill data-i18n (text) and data-i18n-title/-placeholder/-aria-label attributes below root. */
function translateStatic(root) {
  const attributes = { i18nTitle: "title", i18nPlaceholder: "placeholder", i18nAriaLabel: "aria-label" };
  const elements = root.querySelectorAll(
    "[data-i18n], [data-i18n-title], [data-i18n-placeholder], [data-i18n-aria-label]",
  );
  for (const element of elements) {
    if (element.dataset.i18n) element.textContent = t(element.dataset.i18n);
    for (const [name, attribute] of Object.entries(attributes)) {
      if (element.dataset[name]) element.setAttribute(attribute, t(element.dataset[name]));
    }
  }
}

// The LINE simulator page: pick a person, chat as them with the bot through the LINE emulator,
// move the service's clock. All Thai text comes from the server (messages/simulator.py) as T.
"use strict";

const T = JSON.parse(document.getElementById("texts").textContent);
const $ = (id) => document.getElementById(id);
const API = "/simulator/api";
const params = new URLSearchParams(location.search);
const state = {
  me: params.get("as"),
  people: [],
  after: 0,
  turns: [],          // every turn of this chat, in order
  byId: new Map(),    // bot message id -> message (for quotes)
  quoting: null,      // {id, text}
  quickFor: 0,        // seq of the delivery whose quick reply is shown
  loadingUntil: 0,
  menu: null,
  menuOpen: false,
  lastDay: null,
};

// ---------------------------------------------------------------- small helpers
function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

async function api(path, options = {}) {
  const response = await fetch(API + path, options);
  if (!response.ok) throw new Error(`${response.status} ${path}`);
  return response.json();
}

function postJSON(path, body) {
  return api(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
}

function linkify(node, text) {
  const pattern = /(https?:\/\/[^\s]+)/g;
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    node.append(text.slice(last, match.index));
    const a = el("a", null, match[0]);
    a.href = match[0];
    a.target = "_blank";
    a.rel = "noopener";
    node.append(a);
    last = match.index + match[0].length;
  }
  node.append(text.slice(last));
  return node;
}

function summary(message) {
  if (!message) return "";
  if (message.type === "text" || message.type === "textV2") return message.text || "";
  if (message.type === "image") return T.photo_sent;
  if (message.type === "sticker") return T.sticker;
  return message.altText || "";
}

function showError() {
  const note = el("div", "system", T.error);
  $("messages").append(note);
  scrollDown();
}

// ---------------------------------------------------------------- the people picker
async function showPicker() {
  document.title = T.title;
  $("picker").hidden = false;
  $("picker-title").textContent = T.title;
  $("picker-intro").textContent = T.intro;
  $("picker-search").placeholder = T.search;
  state.people = await api("/people");
  const render = () => renderPicker($("picker-search").value.trim().toLowerCase());
  $("picker-search").addEventListener("input", render);
  render();
}

function renderPicker(query) {
  const groups = $("picker-groups");
  groups.replaceChildren();
  const shown = 8;
  for (const kind of Object.keys(T.kinds)) {
    const members = state.people.filter((p) => p.kind === kind).filter((p) =>
      !query || [p.name, p.position, p.office, p.code].join(" ").toLowerCase().includes(query));
    if (!members.length) continue;
    const group = el("section", "group");
    group.append(el("h2", null, `${T.kinds[kind]} (${members.length})`));
    for (const person of members.slice(0, query ? 50 : shown)) {
      const link = el("a", "person");
      link.href = `?as=${encodeURIComponent(person.user_id)}`;
      link.dataset.kind = kind;
      const avatar = el("div", "avatar", person.initial);
      avatar.style.background = colourOf(person.user_id);
      const text = el("div");
      text.append(el("div", "name", person.name || T.newcomer_name));
      const owns = person.projects ? T.projects_owned.replace("{n}", person.projects) : "";
      text.append(el("div", "detail", [person.position, person.office, owns].filter(Boolean).join(" · ")));
      link.append(avatar, text);
      group.append(link);
    }
    if (!query && members.length > shown) group.append(el("div", "more", `… ${members.length - shown}`));
    groups.append(group);
  }
}

function colourOf(text) {
  let h = 0;
  for (const ch of text) h = (h * 31 + ch.charCodeAt(0)) % 360;
  return `hsl(${h} 45% 55%)`;
}

// ---------------------------------------------------------------- the chat
async function showChat() {
  $("phone").hidden = false;
  $("panel").hidden = false;
  $("bot-name").textContent = T.bot_name;
  $("text-input").placeholder = T.type_here;
  $("send").textContent = T.send;
  $("photo-label").title = T.photo;
  $("quote-label").textContent = T.quoting;
  $("back").title = T.change_person;
  state.people = await api("/people");
  const me = state.people.find((p) => p.user_id === state.me);
  if (!me) { location.search = ""; return; }
  const name = me.name || T.newcomer_name;
  $("me-name").textContent = [name, me.office].filter(Boolean).join(" · ");
  document.title = `${name} · ${T.bot_name}`;
  setUpComposer();
  setUpPanel();
  refreshMenu();
  poll();
  pollRefusals();
}

async function poll() {
  // A long poll, one request at a time, for as long as the page is open.
  for (;;) {
    try {
      const data = await api(`/chats/${state.me}?after=${state.after}&wait=20`);
      showClock(data.clock);
      showQuota(data.quota);
      if (data.turns.length) {
        for (const turn of data.turns) addTurn(turn);
        state.after = data.last;
        renderQuick();
        if (data.turns.some((t) => t.side === "bot" && t.kind !== "loading")) refreshMenu();
        scrollDown();
      }
    } catch (error) {
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }
}

function scrollDown() {
  const box = $("messages");
  box.scrollTop = box.scrollHeight;
}

function dayMark(turn) {
  if (!turn.at || turn.at.day === state.lastDay) return;
  state.lastDay = turn.at.day;
  $("messages").append(el("div", "day", turn.at.label));
}

function addTurn(turn) {
  state.turns.push(turn);
  removeTyping();
  if (turn.kind === "loading") {
    state.loadingUntil = Date.now() + turn.seconds * 1000;
    showTyping();
    return;
  }
  dayMark(turn);
  if (turn.side === "user") addUserTurn(turn);
  else if (turn.side === "bot") addDelivery(turn);
  else $("messages").append(refusalNote(turn));
}

function addUserTurn(turn) {
  const row = el("div", "row me");
  const stack = el("div", "stack");
  let bubble;
  if (turn.kind === "image") {
    bubble = el("div", "bubble photo");
    const img = el("img");
    img.src = `${API}/content/${turn.message_id}`;
    img.alt = T.photo_sent;
    bubble.append(img);
  } else if (turn.text) {
    bubble = el("div", "bubble text");
    if (turn.quoted_message_id) {
      const quoted = state.byId.get(turn.quoted_message_id);
      bubble.append(el("div", "quoted", quoted ? summary(quoted) : "…"));
    }
    linkify(bubble, turn.text);
  } else {
    return; // a postback without displayText shows nothing in LINE
  }
  stack.append(bubble);
  const meta = el("div", "meta", turn.at ? turn.at.time : "");
  if (turn.answered !== null && turn.answered !== 200) meta.append(el("span", "tag paid", T.not_delivered));
  stack.append(meta);
  row.append(stack);
  $("messages").append(row);
}

function addDelivery(turn) {
  const row = el("div", "row bot");
  row.append(el("div", "avatar bot-avatar"));
  const stack = el("div", "stack");
  for (const message of turn.messages) {
    if (message._id) state.byId.set(message._id, message);
    const node = renderMessage(message);
    pressable(node, message);
    stack.append(node);
  }
  const meta = el("div", "meta");
  const tag = turn.free
    ? el("span", "tag free", T.reply_free)
    : el("span", "tag paid", `${turn.kind === "multicast" ? T.multicast_paid : T.push_paid} ${quotaText(turn.quota_used, turn.quota_limit)}`);
  meta.append(tag, el("span", null, turn.at ? turn.at.time : ""));
  stack.append(meta);
  row.append(stack);
  row.dataset.kind = turn.kind;
  $("messages").append(row);
  state.quickFor = turn.seq;
}

function quotaText(used, limit) {
  return limit === null || limit === undefined ? `${used}` : `${used}/${limit}`;
}

function refusalNote(turn) {
  const lines = [`${T.refused} (${turn.status}${turn.operation ? " " + turn.operation : ""}): ${turn.message}`];
  for (const d of turn.details || []) lines.push(`• ${d.property || ""} ${d.message || ""}`.trim());
  return el("div", "system", lines.join("\n"));
}

function showTyping() {
  const row = el("div", "row bot typing-row");
  row.append(el("div", "avatar bot-avatar"));
  const bubble = el("div", "bubble typing");
  bubble.title = T.loading;
  bubble.append(el("i"), el("i"), el("i"));
  row.append(bubble);
  $("messages").append(row);
  scrollDown();
  setTimeout(() => { if (Date.now() >= state.loadingUntil) removeTyping(); }, Math.max(0, state.loadingUntil - Date.now()) + 50);
}

function removeTyping() {
  for (const node of document.querySelectorAll(".typing-row")) node.remove();
}

// ---------------------------------------------------------------- messages LINE can carry
function renderMessage(message) {
  switch (message.type) {
    case "text":
    case "textV2":
      return linkify(el("div", "bubble text"), message.text || "");
    case "image": {
      const bubble = el("div", "bubble photo");
      const img = el("img");
      img.src = message.previewImageUrl || message.originalContentUrl;
      img.alt = T.photo_sent;
      img.onerror = () => bubble.replaceChildren(el("div", "bubble", T.photo_sent));
      bubble.append(img);
      return bubble;
    }
    case "sticker":
      return el("div", "bubble", `[${T.sticker}]`);
    case "flex":
      return renderFlexContainer(message.contents);
    case "template":
      return renderTemplate(message.template);
    default:
      return el("div", "bubble", `${T.unsupported}: ${message.altText || message.type}`);
  }
}

function renderTemplate(template) {
  const card = el("div", `template ${template.type}`);
  const body = el("div", "t-body");
  if (template.title) body.append(el("div", "t-title", template.title));
  body.append(template.text || "");
  card.append(body);
  const actions = el("div", "t-actions");
  for (const action of template.actions || []) {
    const button = el("button", null, action.label);
    button.type = "button";
    button.addEventListener("click", () => doAction(action));
    actions.append(button);
  }
  card.append(actions);
  return card;
}

// Flex Message, after LINE's reference: sizes in px, spacing keywords, default flex per layout.
const SPACE = { none: 0, xs: 2, sm: 4, md: 8, lg: 12, xl: 16, xxl: 20 };
const TEXT_SIZE = { xxs: 11, xs: 13, sm: 14, md: 16, lg: 19, xl: 22, xxl: 29, "3xl": 35, "4xl": 48, "5xl": 74 };
const IMAGE_SIZE = { xxs: 40, xs: 60, sm: 80, md: 100, lg: 120, xl: 140, xxl: 160, "3xl": 180, "4xl": 200, "5xl": 240 };
const BUBBLE_WIDTH = { nano: 120, micro: 160, deca: 220, hecto: 241, kilo: 260, mega: 300, giga: 500 };
const BORDER = { none: 0, light: 0.5, normal: 1, medium: 2, "semi-bold": 3, bold: 4 };
const JUSTIFY = { "flex-start": "flex-start", "flex-end": "flex-end", center: "center", "space-between": "space-between", "space-around": "space-around", "space-evenly": "space-evenly" };

function px(value, table) {
  if (value === undefined || value === null) return null;
  if (table && value in table) return `${table[value]}px`;
  return /^-?\d+(\.\d+)?(px|%)$/.test(String(value)) ? String(value) : null;
}

function renderFlexContainer(container) {
  if (!container) return el("div", "bubble", T.unsupported);
  if (container.type === "carousel") {
    const carousel = el("div", "flex-carousel");
    for (const bubble of container.contents || []) carousel.append(renderBubble(bubble));
    return carousel;
  }
  return renderBubble(container);
}

function renderBubble(bubble) {
  const node = el("div", "flex-bubble");
  node.style.width = `${BUBBLE_WIDTH[bubble.size] || BUBBLE_WIDTH.mega}px`;
  if (bubble.direction === "rtl") node.style.direction = "rtl";
  const styles = bubble.styles || {};
  const blocks = [["header", 20], ["hero", 0], ["body", 20], ["footer", 10]];
  let first = true;
  for (const [name, padding] of blocks) {
    const content = bubble[name];
    if (!content) continue;
    const block = el("div", `flex-block flex-${name}`);
    const style = styles[name] || {};
    if (style.backgroundColor) block.style.backgroundColor = style.backgroundColor;
    if (!first && style.separator) block.style.borderTop = `1px solid ${style.separatorColor || "#d4d6da"}`;
    const inner = renderComponent(content, "vertical");
    if (name !== "hero" && content.type === "box") {
      const explicit = ["paddingAll", "paddingTop", "paddingBottom", "paddingStart", "paddingEnd"].some((k) => k in content);
      if (!explicit) inner.style.padding = `${padding}px`;
    }
    block.append(inner);
    node.append(block);
    first = false;
  }
  if (bubble.action) makeActionable(node, bubble.action);
  return node;
}

function applyCommon(node, c, parentLayout) {
  const horizontalParent = parentLayout === "horizontal" || parentLayout === "baseline";
  const flex = c.flex !== undefined ? c.flex : (horizontalParent ? 1 : 0);
  node.style.flex = flex > 0 ? `${flex} ${flex} 0` : "0 0 auto";
  if (c.position === "absolute") node.style.position = "absolute";
  for (const [key, css] of [["offsetTop", "top"], ["offsetBottom", "bottom"], ["offsetStart", "left"], ["offsetEnd", "right"]]) {
    const v = px(c[key], SPACE);
    if (v !== null) node.style[css] = v;
  }
  if (c.alignSelf) node.style.alignSelf = c.alignSelf;
}

function applyMargin(node, c, index, parentLayout, parentSpacing) {
  if (index === 0 || c.position === "absolute") return;
  const value = px(c.margin, SPACE) ?? px(parentSpacing, SPACE);
  if (value === null) return;
  if (parentLayout === "vertical") node.style.marginTop = value;
  else node.style.marginLeft = value;
}

function renderComponent(c, parentLayout) {
  let node;
  switch (c.type) {
    case "box": node = renderBox(c); break;
    case "text": node = renderText(c); break;
    case "button": node = renderButton(c); break;
    case "image": node = renderImage(c, parentLayout); break;
    case "icon": node = renderIcon(c); break;
    case "separator": {
      node = el("div", "flex-separator");
      if (parentLayout === "vertical") node.style.height = "1px"; else node.style.width = "1px";
      if (c.color) node.style.backgroundColor = c.color;
      node.style.flex = "0 0 auto";
      node.style.alignSelf = "stretch";
      return node;
    }
    case "filler": {
      node = el("div", "flex-filler");
      const flex = c.flex !== undefined ? c.flex : 1;
      node.style.flex = `${flex} ${flex} 0`;
      return node;
    }
    case "spacer": {
      node = el("div", "flex-spacer");
      node.style.flex = "0 0 auto";
      node.style.height = px(c.size || "md", SPACE);
      return node;
    }
    case "video":
      return c.altContent ? renderComponent(c.altContent, parentLayout) : el("div", null, T.unsupported);
    default:
      return el("div", null, "");
  }
  if (c.type !== "icon") applyCommon(node, c, parentLayout);
  if (c.action && c.type !== "button") makeActionable(node, c.action);
  return node;
}

function renderBox(c) {
  const layout = c.layout || "vertical";
  const node = el("div", `flex-box ${layout}`);
  const s = node.style;
  if (c.backgroundColor) s.backgroundColor = c.backgroundColor;
  if (c.background && c.background.type === "linearGradient") {
    const b = c.background;
    const stops = b.centerColor
      ? `${b.startColor}, ${b.centerColor} ${b.centerPosition || "50%"}, ${b.endColor}`
      : `${b.startColor}, ${b.endColor}`;
    s.backgroundImage = `linear-gradient(${b.angle || "0deg"}, ${stops})`;
  }
  if (c.borderColor) s.borderColor = c.borderColor;
  const border = c.borderWidth in BORDER ? `${BORDER[c.borderWidth]}px` : px(c.borderWidth);
  if (border) { s.borderStyle = "solid"; s.borderWidth = border; if (!c.borderColor) s.borderColor = "#000"; }
  const radius = px(c.cornerRadius, SPACE);
  if (radius) { s.borderRadius = radius; s.overflow = "hidden"; }
  for (const [key, css] of [["width", "width"], ["maxWidth", "maxWidth"], ["height", "height"], ["maxHeight", "maxHeight"]]) {
    const v = px(c[key]);
    if (v) s[css] = v;
  }
  const pad = px(c.paddingAll, SPACE);
  if (pad) s.padding = pad;
  for (const [key, css] of [["paddingTop", "paddingTop"], ["paddingBottom", "paddingBottom"], ["paddingStart", "paddingLeft"], ["paddingEnd", "paddingRight"]]) {
    const v = px(c[key], SPACE);
    if (v) s[css] = v;
  }
  if (c.justifyContent) s.justifyContent = JUSTIFY[c.justifyContent] || "flex-start";
  if (c.alignItems) s.alignItems = c.alignItems;
  (c.contents || []).forEach((child, index) => {
    const childNode = renderComponent(child, layout);
    applyMargin(childNode, child, index, layout, c.spacing);
    node.append(childNode);
  });
  return node;
}

function renderText(c) {
  const node = el("div", "flex-text" + (c.wrap ? " wrap" : ""));
  const s = node.style;
  s.fontSize = px(c.size || "md", TEXT_SIZE);
  if (c.weight === "bold") s.fontWeight = "bold";
  if (c.style === "italic") s.fontStyle = "italic";
  if (c.decoration && c.decoration !== "none") s.textDecoration = c.decoration;
  s.color = c.color || "#111111";
  if (c.align) s.textAlign = c.align === "start" ? "left" : c.align === "end" ? "right" : "center";
  if (c.gravity) s.alignSelf = c.gravity === "top" ? "flex-start" : c.gravity === "bottom" ? "flex-end" : "center";
  if (c.lineSpacing) s.lineHeight = `calc(1.4em + ${c.lineSpacing})`;
  if (c.maxLines) {
    s.display = "-webkit-box"; s.webkitLineClamp = String(c.maxLines); s.webkitBoxOrient = "vertical"; s.overflow = "hidden";
  }
  if (Array.isArray(c.contents) && c.contents.length) {
    for (const span of c.contents) {
      const part = el("span", null, span.text || "");
      if (span.size) part.style.fontSize = px(span.size, TEXT_SIZE);
      if (span.color) part.style.color = span.color;
      if (span.weight === "bold") part.style.fontWeight = "bold";
      if (span.style === "italic") part.style.fontStyle = "italic";
      if (span.decoration && span.decoration !== "none") part.style.textDecoration = span.decoration;
      node.append(part);
    }
  } else {
    node.textContent = c.text || "";
  }
  return node;
}

function renderButton(c) {
  const style = c.style || "link";
  const node = el("button", `flex-button ${style}`, (c.action && c.action.label) || "");
  node.type = "button";
  node.style.height = c.height === "sm" ? "40px" : "52px";
  if (c.color) {
    if (style === "link") node.style.color = c.color; else node.style.backgroundColor = c.color;
  }
  if (c.gravity) node.style.alignSelf = c.gravity === "top" ? "flex-start" : c.gravity === "bottom" ? "flex-end" : "center";
  if (c.action) node.addEventListener("click", (event) => { event.stopPropagation(); doAction(c.action); });
  return node;
}

function renderImage(c, parentLayout) {
  const node = el("div", "flex-image");
  const size = c.size || "md";
  node.style.width = size === "full" ? "100%" : (px(size, IMAGE_SIZE) || "100px");
  node.style.maxWidth = "100%";
  const [w, h] = String(c.aspectRatio || "1:1").split(":").map(Number);
  node.style.aspectRatio = `${w || 1} / ${h || 1}`;
  if (c.backgroundColor) node.style.backgroundColor = c.backgroundColor;
  const align = c.align || "center";
  if (parentLayout === "vertical") node.style.alignSelf = align === "start" ? "flex-start" : align === "end" ? "flex-end" : "center";
  const img = el("img");
  img.src = c.url;
  img.alt = "";
  img.style.objectFit = c.aspectMode === "cover" ? "cover" : "contain";
  img.onerror = () => { img.remove(); node.style.backgroundColor = "#e5e7ea"; };
  node.append(img);
  return node;
}

function renderIcon(c) {
  const node = el("img", "flex-icon");
  const size = px(c.size || "md", TEXT_SIZE) || "16px";
  node.src = c.url;
  node.alt = "";
  node.style.height = size;
  const [w, h] = String(c.aspectRatio || "1:1").split(":").map(Number);
  node.style.width = `calc(${size} * ${(w || 1) / (h || 1)})`;
  node.onerror = () => { node.style.visibility = "hidden"; };
  return node;
}

function makeActionable(node, action) {
  node.classList.add("actionable");
  node.addEventListener("click", (event) => { event.stopPropagation(); doAction(action); });
}

// ---------------------------------------------------------------- what a tap does
async function doAction(action) {
  try {
    switch (action.type) {
      case "message":
        await say(action.text || action.label || "");
        break;
      case "postback":
        await tap(action.data, action.displayText || null, null);
        if (action.inputOption === "openKeyboard") {
          $("text-input").value = action.fillInText || "";
          $("text-input").focus();
        } else if (action.inputOption === "openRichMenu") setMenu(true);
        else if (action.inputOption === "closeRichMenu") setMenu(false);
        break;
      case "datetimepicker": {
        const value = await pickDateTime(action);
        if (value !== null) {
          const key = action.mode === "datetime" ? "datetime" : action.mode;
          await tap(action.data, null, { [key]: value });
        }
        break;
      }
      case "uri": {
        const uri = (action.altUri && action.altUri.desktop) || action.uri;
        if (/^https?:/.test(uri)) window.open(uri, "_blank", "noopener");
        break;
      }
      case "camera":
      case "cameraRoll":
        $("photo-input").click();
        break;
      case "clipboard":
        await navigator.clipboard?.writeText(action.clipboardText || "");
        break;
      case "richmenuswitch":
        await switchMenu(action);
        break;
      default:
        break; // location and the rest have nothing to simulate here
    }
  } catch (error) {
    showError();
  }
}

function pickDateTime(action) {
  const dialog = $("picker-dialog");
  const input = $("dt-input");
  input.type = action.mode === "datetime" ? "datetime-local" : action.mode;
  input.value = action.initial || "";
  if (action.min) input.min = action.min;
  if (action.max) input.max = action.max;
  $("dt-label").textContent = action.label || T.pick_date;
  $("dt-ok").textContent = T.ok;
  $("dt-cancel").textContent = T.cancel;
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok" && input.value ? input.value : null), { once: true });
  });
}

async function say(text, quotedId = null) {
  if (!text) return;
  hideQuick();
  await postJSON(`/chats/${state.me}/say`, { text, quoted_message_id: quotedId });
}

async function tap(data, displayText, params) {
  hideQuick();
  await postJSON(`/chats/${state.me}/tap`, { data, display_text: displayText, params });
}

async function sendPhoto(file) {
  let blob = file;
  if (!["image/jpeg", "image/png"].includes(file.type)) blob = await asJpeg(file);
  hideQuick();
  const response = await fetch(`${API}/chats/${state.me}/photo`, { method: "POST", headers: { "Content-Type": blob.type }, body: blob });
  if (!response.ok) throw new Error(String(response.status));
}

async function asJpeg(file) {
  const bitmap = await createImageBitmap(file);
  const canvas = document.createElement("canvas");
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  canvas.getContext("2d").drawImage(bitmap, 0, 0);
  return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.9));
}

// ---------------------------------------------------------------- quick replies and quoting
function renderQuick() {
  const last = state.turns[state.turns.length - 1];
  const box = $("quick");
  box.replaceChildren();
  box.hidden = true;
  if (!last || last.side !== "bot" || last.kind === "loading") return;
  const message = last.messages[last.messages.length - 1];
  const items = (message.quickReply && message.quickReply.items) || [];
  for (const item of items) {
    const action = item.action;
    const label = action.label || (action.type === "camera" ? T.photo : action.type === "cameraRoll" ? T.photo : "");
    const button = el("button", null, label);
    button.type = "button";
    button.addEventListener("click", () => doAction(action));
    box.append(button);
  }
  box.hidden = items.length === 0;
}

function hideQuick() {
  $("quick").hidden = true;
}

function pressable(node, message) {
  if (!message._id) return;
  node.classList.add("pressable");
  let timer = null;
  const open = (x, y) => openContextMenu(x, y, message);
  node.addEventListener("contextmenu", (event) => { event.preventDefault(); open(event.clientX, event.clientY); });
  node.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    node.classList.add("pressed");
    timer = setTimeout(() => { timer = null; open(event.clientX, event.clientY); }, 550);
  });
  const cancel = () => { node.classList.remove("pressed"); if (timer) clearTimeout(timer); timer = null; };
  node.addEventListener("pointerup", cancel);
  node.addEventListener("pointerleave", cancel);
}

function openContextMenu(x, y, message) {
  const menu = $("ctx");
  menu.replaceChildren();
  const reply = el("button", null, T.quote);
  reply.type = "button";
  reply.dataset.action = "quote";
  reply.addEventListener("click", () => { closeContextMenu(); startQuote(message); });
  const copy = el("button", null, T.copy);
  copy.type = "button";
  copy.addEventListener("click", () => { closeContextMenu(); navigator.clipboard?.writeText(summary(message)); });
  menu.append(reply, copy);
  menu.style.left = `${Math.min(x, window.innerWidth - 160)}px`;
  menu.style.top = `${Math.min(y, window.innerHeight - 100)}px`;
  menu.hidden = false;
  setTimeout(() => document.addEventListener("click", closeContextMenu, { once: true }), 0);
}

function closeContextMenu() {
  $("ctx").hidden = true;
}

function startQuote(message) {
  state.quoting = { id: message._id, text: summary(message) };
  $("quote-text").textContent = state.quoting.text;
  $("quote-box").hidden = false;
  $("text-input").focus();
}

function stopQuote() {
  state.quoting = null;
  $("quote-box").hidden = true;
}

function setUpComposer() {
  $("composer").addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = $("text-input");
    const text = input.value.trim();
    if (!text) return;
    const quoted = state.quoting ? state.quoting.id : null;
    input.value = "";
    stopQuote();
    try { await say(text, quoted); } catch (error) { input.value = text; showError(); }
  });
  $("quote-cancel").addEventListener("click", stopQuote);
  $("photo-input").addEventListener("change", async (event) => {
    const file = event.target.files[0];
    event.target.value = "";
    if (!file) return;
    try { await sendPhoto(file); } catch (error) { showError(); }
  });
  $("menu-toggle").addEventListener("click", () => setMenu(!state.menuOpen));
  $("menu-bar").addEventListener("click", () => setMenu(!state.menuOpen));
}

// ---------------------------------------------------------------- the rich menu
async function refreshMenu(alias = null) {
  try {
    const menu = await api(`/richmenu/${state.me}${alias ? `?alias=${encodeURIComponent(alias)}` : ""}`);
    const changed = JSON.stringify(menu) !== JSON.stringify(state.menu);
    state.menu = menu;
    if (!changed) return;
    renderMenu();
    if (menu && menu.selected && state.menuOpen === false && !state.menuShownOnce) { state.menuShownOnce = true; setMenu(true); }
  } catch (error) { /* no menu shown */ }
}

function renderMenu() {
  const box = $("richmenu");
  box.replaceChildren();
  const menu = state.menu;
  $("menu-toggle").hidden = !menu;
  $("menu-bar").hidden = !menu;
  if (!menu) { box.hidden = true; return; }
  $("menu-bar").textContent = `${menu.chatBarText || T.menu} ▾`;
  const img = el("img");
  img.src = `${API}/richmenu-image/${menu.richMenuId}`;
  img.alt = menu.name || T.menu;
  box.append(img);
  const { width, height } = menu.size;
  for (const area of menu.areas || []) {
    const b = area.bounds;
    const button = el("button", "area");
    button.type = "button";
    button.title = area.action.label || area.action.text || area.action.displayText || "";
    button.setAttribute("aria-label", button.title);
    Object.assign(button.style, {
      left: `${(100 * b.x) / width}%`, top: `${(100 * b.y) / height}%`,
      width: `${(100 * b.width) / width}%`, height: `${(100 * b.height) / height}%`,
    });
    button.addEventListener("click", () => doAction(area.action));
    box.append(button);
  }
  box.hidden = !state.menuOpen;
}

function setMenu(open) {
  state.menuOpen = open && !!state.menu;
  $("richmenu").hidden = !state.menuOpen;
  if (state.menu) $("menu-bar").textContent = `${state.menu.chatBarText || T.menu} ${state.menuOpen ? "▾" : "▴"}`;
}

async function switchMenu(action) {
  await refreshMenu(action.richMenuAliasId);
  setMenu(true);
  if (action.data) await tap(action.data, null, null);
}

// ---------------------------------------------------------------- the clock and the quota
function setUpPanel() {
  $("clock-title").textContent = T.clock;
  $("clock-help").textContent = T.clock_help;
  $("clock-next-day").textContent = T.clock_next_day;
  $("clock-next-reminder").textContent = T.clock_next_reminder;
  $("clock-go").textContent = T.clock_go;
  $("clock-reset").textContent = T.clock_reset;
  $("quota-title").textContent = T.quota;
  $("refusals-title").textContent = T.refusals;
  $("refusals").textContent = T.no_refusals;
  for (const button of document.querySelectorAll("[data-move]")) {
    button.addEventListener("click", () => moveClock(button.dataset.move));
  }
  api("/clock").then((data) => {
    showClock(data);
    showQuota(data.quota);
    // The service's time as a starting point, unless the person has already typed one in.
    if (!$("clock-at").value) $("clock-at").value = data.input;
  });
}

async function moveClock(action) {
  const buttons = document.querySelectorAll("[data-move]");
  const lines = $("clock-lines");
  buttons.forEach((b) => { b.disabled = true; });
  lines.className = "clock-lines";
  lines.textContent = T.clock_working;
  try {
    const data = await postJSON("/clock", { action, at: action === "set" ? $("clock-at").value : null });
    lines.textContent = data.lines.join("\n");
    if (!data.ok) lines.className = "clock-lines bad";
    showClock(data);
    $("clock-at").value = data.input;
  } catch (error) {
    lines.className = "clock-lines bad";
    lines.textContent = T.error;
  } finally {
    buttons.forEach((b) => { b.disabled = false; });
  }
}

// Answers may reach the page out of order (a chat poll answered during a move read the clock before
// the move's own answer did): the face shows the latest reading the server gave out (its "seq").
let clockSeq = -1;

function showClock(clock) {
  if (!clock || clock.seq < clockSeq) return;
  clockSeq = clock.seq;
  $("clock-date").textContent = clock.face.date;
  $("clock-time").textContent = clock.face.time;
  $("clock-origin").textContent = clock.face.origin;
  document.querySelector(".clock-face").classList.toggle("simulated", clock.simulated);
}

function showQuota(quota) {
  if (!quota) return;
  const limit = quota.limit === null ? T.quota_unlimited : quota.limit;
  $("quota-line").textContent = `${T.quota_used} ${quota.used} / ${limit}`;
  $("quota-chip").textContent = `${T.quota_used} ${quotaText(quota.used, quota.limit)}`;
}

async function pollRefusals() {
  let after = 0;
  for (;;) {
    try {
      const found = await api(`/refusals?after=${after}`);
      if (found.length) {
        const box = $("refusals");
        if (after === 0) box.replaceChildren();
        for (const refusal of found) { box.prepend(refusalNote(refusal)); after = refusal.seq; }
      }
    } catch (error) { /* try again */ }
    await new Promise((resolve) => setTimeout(resolve, 5000));
  }
}

// ---------------------------------------------------------------- start
(state.me ? showChat() : showPicker()).catch(showError);

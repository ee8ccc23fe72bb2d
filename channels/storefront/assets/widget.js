// <gateway-shop key="pk_…" lang="zh-CN"></gateway-shop>: the embeddable shop of the commerce
// gateway (DESIGN §13). Plain JavaScript, no build step, no third-party code; served by the
// gateway at /widget.js and loaded with <script type="module" src="https://GATEWAY/widget.js">.
//
// Attributes: key (the channel's publishable key, required), lang ("en" or "zh-CN"),
// api (the gateway's base URL; default: where this script came from), lat/lng (a location
// the page already knows, e.g. a bike-share app's rider). Events (bubbling, composed):
// `gateway:checkout` {cart_id, client_secret, total, expires_at, cart} when the shopper checks
// out (the partner's server places the order with them), `gateway:error` {message, status}.
// Methods: reset() empties the cart after the order is placed.

const STRINGS = {
  en: {
    shop: "Shop",
    locate: "Use my location",
    locating: "Finding your location…",
    coordinates: "Or enter a location",
    lat: "Latitude",
    lng: "Longitude",
    show: "Show products here",
    deliverTo: "Delivering near {lat}, {lng}",
    pickupAt: "Pick up at",
    deliver: "Deliver to my location",
    pickupChosen: "Picking up at {name}",
    noLocation: "Choose a location to see what can reach you, and how fast.",
    locationFailed: "Your location is not available ({reason}). Enter a location instead.",
    search: "Search products",
    searchButton: "Search",
    products: "Products",
    more: "More products",
    none: "Nothing here can reach this location.",
    add: "Add",
    addLabel: "Add {title} to the cart",
    outOfStock: "Out of stock",
    minutes: "{n} min",
    today: "today {time}",
    tomorrow: "tomorrow",
    tomorrowAt: "tomorrow {time}",
    on: "{date}",
    cart: "Cart",
    empty: "Your cart is empty.",
    less: "One less {title}",
    plus: "One more {title}",
    remove: "Remove {title}",
    qty: "Quantity of {title}",
    subtotal: "Subtotal {amount}",
    checkout: "Check out",
    holding: "Reserving your items…",
    held: "Reserved until {time}: total {amount}, including delivery {fee}.",
    shipment: "{count} item(s) arriving {promise}",
    added: "{title} added to the cart",
    loading: "Loading…",
    notAllowed: "This shop cannot be used on this page: {origin} is not one of the allowed origins of its key.",
    unreachable: "The shop cannot be reached. Check your connection and try again.",
    noKey: "This shop has no key (the key attribute is missing).",
    failed: "Something went wrong ({status}).",
  },
  "zh-CN": {
    shop: "商店",
    locate: "使用我的位置",
    locating: "正在获取您的位置…",
    coordinates: "或输入位置",
    lat: "纬度",
    lng: "经度",
    show: "查看此处商品",
    deliverTo: "配送至 {lat}, {lng} 附近",
    pickupAt: "自提点",
    deliver: "送货到我的位置",
    pickupChosen: "在 {name} 自提",
    noLocation: "请选择位置，查看可送达的商品和送达时间。",
    locationFailed: "无法获取您的位置（{reason}）。请手动输入位置。",
    search: "搜索商品",
    searchButton: "搜索",
    products: "商品",
    more: "更多商品",
    none: "此位置暂无可送达的商品。",
    add: "加入",
    addLabel: "将 {title} 加入购物车",
    outOfStock: "缺货",
    minutes: "{n} 分钟",
    today: "今天 {time}",
    tomorrow: "明天",
    tomorrowAt: "明天 {time}",
    on: "{date}",
    cart: "购物车",
    empty: "购物车是空的。",
    less: "减少一件 {title}",
    plus: "增加一件 {title}",
    remove: "移除 {title}",
    qty: "{title} 的数量",
    subtotal: "小计 {amount}",
    checkout: "去结算",
    holding: "正在为您预留商品…",
    held: "已预留至 {time}：合计 {amount}，含配送费 {fee}。",
    shipment: "{count} 件商品，{promise} 送达",
    added: "已将 {title} 加入购物车",
    loading: "加载中…",
    notAllowed: "此商店不能在本页面使用：{origin} 不在该密钥允许的来源中。",
    unreachable: "无法连接商店，请检查网络后重试。",
    noKey: "此商店缺少密钥（未设置 key 属性）。",
    failed: "出错了（{status}）。",
  },
};

const STYLE = `
:host { display: block; font: 15px/1.45 system-ui, -apple-system, "PingFang SC", "Microsoft YaHei", sans-serif;
  color: #1d2330; --accent: #0b6e4f; --line: #d9dee7; }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
section.shop { border: 1px solid var(--line); border-radius: 12px; padding: 16px; background: #fff; max-width: 760px; }
h2 { margin: 0 0 12px; font-size: 1.25rem; } h3 { margin: 16px 0 8px; font-size: 1.05rem; }
button { font: inherit; border: 1px solid var(--accent); background: var(--accent); color: #fff; border-radius: 8px;
  padding: 6px 12px; cursor: pointer; }
button.plain { background: #fff; color: var(--accent); }
button:disabled { opacity: .5; cursor: not-allowed; }
button:focus-visible, input:focus-visible, select:focus-visible, summary:focus-visible { outline: 3px solid #f2a900; outline-offset: 2px; }
input, select { font: inherit; padding: 5px 8px; border: 1px solid var(--line); border-radius: 6px; }
label { display: inline-flex; gap: 6px; align-items: center; margin: 4px 12px 4px 0; }
.where, .search { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; margin-bottom: 8px; }
.status { color: #4a5568; margin: 4px 0; }
.error { background: #fdecea; color: #8a1c12; border: 1px solid #f5b7ae; border-radius: 8px; padding: 8px 12px; margin: 8px 0; }
ul { list-style: none; padding: 0; margin: 0; }
li.product { display: grid; grid-template-columns: 1fr auto auto auto; gap: 12px; align-items: center;
  padding: 8px 0; border-bottom: 1px solid var(--line); }
.title { font-weight: 600; } .variant { color: #4a5568; font-size: .9em; }
.price { font-variant-numeric: tabular-nums; }
.promise { font-size: .9em; padding: 2px 8px; border-radius: 999px; background: #e6f4ee; color: #0b6e4f; white-space: nowrap; }
.promise.mid { background: #fff4dc; color: #7a5200; } .promise.far { background: #eef0f4; color: #394150; }
.promise.out { background: #f3f3f3; color: #6b7280; }
li.line { display: flex; gap: 8px; align-items: center; padding: 4px 0; }
li.line .title { flex: 1; }
.held { background: #e6f4ee; border-radius: 8px; padding: 8px 12px; margin-top: 8px; }
`;

const esc = (text) => String(text ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

class ShopError extends Error {
  constructor(message, status, problem) {
    super(message);
    this.status = status;
    this.problem = problem;
  }
}

function requestId() {
  if (globalThis.crypto && crypto.randomUUID) return crypto.randomUUID();
  return `w-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 12)}`;
}

export class GatewayShop extends HTMLElement {
  static get observedAttributes() {
    return ["lang", "lat", "lng"];
  }

  constructor() {
    super();
    this.attachShadow({ mode: "open" });
    this.point = null; // {lat, lng}
    this.pickup = null; // {id, name}
    this.items = new Map(); // listing id -> product
    this.basket = new Map(); // listing id -> qty
    this.cart = null; // the held cart {id, client_secret, ...}
    this.next = null; // cursor of the next products page
    this.q = "";
  }

  get strings() {
    const lang = (this.getAttribute("lang") || document.documentElement.lang || "en").toLowerCase();
    return lang.startsWith("zh") ? STRINGS["zh-CN"] : STRINGS.en;
  }

  get locale() {
    return this.strings === STRINGS.en ? "en" : "zh-CN";
  }

  t(name, values = {}) {
    return this.strings[name].replace(/\{(\w+)\}/g, (_, k) => values[k] ?? "");
  }

  get api() {
    return (this.getAttribute("api") || new URL(import.meta.url).origin).replace(/\/$/, "");
  }

  connectedCallback() {
    this.render();
    const lat = parseFloat(this.getAttribute("lat"));
    const lng = parseFloat(this.getAttribute("lng"));
    if (!this.getAttribute("key")) {
      this.showError(this.t("noKey"));
      return;
    }
    if (Number.isFinite(lat) && Number.isFinite(lng)) this.setPoint(lat, lng);
    else this.loadProducts(true);
  }

  attributeChangedCallback(name, before, after) {
    if (!this.isConnected || before === after || before === null) return;
    if (name === "lang") {
      this.render();
      this.loadProducts(true);
    } else {
      const lat = parseFloat(this.getAttribute("lat"));
      const lng = parseFloat(this.getAttribute("lng"));
      if (Number.isFinite(lat) && Number.isFinite(lng)) this.setPoint(lat, lng);
    }
  }

  $(selector) {
    return this.shadowRoot.querySelector(selector);
  }

  render() {
    this.shadowRoot.innerHTML = `<style>${STYLE}</style>
<section class="shop" aria-labelledby="shop-title" lang="${this.locale}">
  <h2 id="shop-title">${esc(this.getAttribute("title") || this.t("shop"))}</h2>
  <div class="where">
    <button type="button" id="locate">${esc(this.t("locate"))}</button>
    <details id="manual"><summary>${esc(this.t("coordinates"))}</summary>
      <form id="coords" class="where">
        <label>${esc(this.t("lat"))} <input id="lat" inputmode="decimal" size="9" required></label>
        <label>${esc(this.t("lng"))} <input id="lng" inputmode="decimal" size="9" required></label>
        <button type="submit" class="plain">${esc(this.t("show"))}</button>
      </form>
    </details>
    <label id="pickup-label" hidden>${esc(this.t("pickupAt"))}
      <select id="pickup"><option value="">${esc(this.t("deliver"))}</option></select></label>
  </div>
  <p id="where" class="status" role="status" aria-live="polite">${esc(this.t("noLocation"))}</p>
  <div id="error" class="error" role="alert" hidden></div>
  <form id="search" class="search" role="search">
    <label>${esc(this.t("search"))} <input id="q" type="search" maxlength="100"></label>
    <button type="submit" class="plain">${esc(this.t("searchButton"))}</button>
  </form>
  <h3 id="products-title">${esc(this.t("products"))}</h3>
  <ul id="products" aria-labelledby="products-title" aria-busy="false"></ul>
  <button type="button" id="more" class="plain" hidden>${esc(this.t("more"))}</button>
  <section id="cart" aria-labelledby="cart-title">
    <h3 id="cart-title">${esc(this.t("cart"))}</h3>
    <ul id="lines"></ul>
    <p id="subtotal" class="status"></p>
    <button type="button" id="checkout" disabled>${esc(this.t("checkout"))}</button>
    <div id="held" class="held" role="status" aria-live="polite" hidden></div>
  </section>
  <p id="announce" class="status" role="status" aria-live="polite"></p>
</section>`;
    this.$("#locate").addEventListener("click", () => this.locate());
    this.$("#coords").addEventListener("submit", (event) => {
      event.preventDefault();
      const lat = parseFloat(this.$("#lat").value);
      const lng = parseFloat(this.$("#lng").value);
      if (Number.isFinite(lat) && Number.isFinite(lng)) this.setPoint(lat, lng);
    });
    this.$("#pickup").addEventListener("change", (event) => this.choosePickup(event.target));
    this.$("#search").addEventListener("submit", (event) => {
      event.preventDefault();
      this.q = this.$("#q").value.trim();
      this.loadProducts(true);
    });
    this.$("#more").addEventListener("click", () => this.loadProducts(false));
    this.$("#checkout").addEventListener("click", () => this.checkout());
    this.renderCart();
  }

  // -- talking to the gateway ------------------------------------------------------------

  async call(method, path, body) {
    const headers = { Authorization: `Bearer ${this.getAttribute("key")}`, "X-Request-Id": requestId() };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method === "POST") headers["Idempotency-Key"] = requestId();
    let response;
    try {
      response = await fetch(this.api + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        mode: "cors",
        credentials: "omit",
      });
    } catch (failure) {
      throw await this.networkError();
    }
    const data = await response.json().catch(() => null);
    if (!response.ok) {
      const message = (data && (data.detail || data.title)) || this.t("failed", { status: response.status });
      throw new ShopError(message, response.status, data);
    }
    return data;
  }

  async networkError() {
    // A refused CORS answer and a dead network look alike to a page. A `no-cors` request
    // needs no CORS answer: if it gets through, the gateway is up and refused this origin.
    try {
      await fetch(`${this.api}/healthz`, { mode: "no-cors", credentials: "omit" });
      return new ShopError(this.t("notAllowed", { origin: location.origin }), 0, null);
    } catch {
      return new ShopError(this.t("unreachable"), 0, null);
    }
  }

  showError(message, status = 0) {
    const box = this.$("#error");
    box.textContent = message;
    box.hidden = false;
    this.dispatchEvent(new CustomEvent("gateway:error", { bubbles: true, composed: true, detail: { message, status } }));
  }

  clearError() {
    this.$("#error").hidden = true;
    this.$("#error").textContent = "";
  }

  // -- where ---------------------------------------------------------------------------------

  locate() {
    if (!navigator.geolocation) {
      this.showError(this.t("locationFailed", { reason: "geolocation" }));
      return;
    }
    this.$("#where").textContent = this.t("locating");
    navigator.geolocation.getCurrentPosition(
      (position) => this.setPoint(position.coords.latitude, position.coords.longitude),
      (failure) => {
        this.$("#where").textContent = this.t("noLocation");
        this.$("#manual").open = true;
        this.showError(this.t("locationFailed", { reason: failure.message || failure.code }));
      },
      { timeout: 10000, maximumAge: 60000 },
    );
  }

  async setPoint(lat, lng) {
    this.point = { lat: Math.round(lat * 1e6) / 1e6, lng: Math.round(lng * 1e6) / 1e6 };
    this.pickup = null;
    this.$("#lat").value = this.point.lat;
    this.$("#lng").value = this.point.lng;
    this.$("#where").textContent = this.t("deliverTo", { lat: this.point.lat.toFixed(4), lng: this.point.lng.toFixed(4) });
    this.dropHeldCart();
    await Promise.all([this.loadProducts(true), this.loadPickupPoints()]);
  }

  async loadPickupPoints() {
    const select = this.$("#pickup");
    try {
      const page = await this.call("GET", `/v1/storefront/pickup-points?lat=${this.point.lat}&lng=${this.point.lng}`);
      select.length = 1;
      for (const point of page.data) {
        const option = document.createElement("option");
        option.value = point.id;
        option.textContent = `${point.name} (${point.distance_km.toFixed(1)} km)`;
        option.dataset.name = point.name;
        select.append(option);
      }
      this.$("#pickup-label").hidden = page.data.length === 0;
    } catch (failure) {
      this.showError(failure.message, failure.status);
    }
  }

  choosePickup(select) {
    const option = select.selectedOptions[0];
    this.pickup = select.value ? { id: select.value, name: option.dataset.name } : null;
    this.$("#where").textContent = this.pickup
      ? this.t("pickupChosen", { name: this.pickup.name })
      : this.t("deliverTo", { lat: this.point.lat.toFixed(4), lng: this.point.lng.toFixed(4) });
    this.dropHeldCart();
    this.loadProducts(true);
  }

  where() {
    if (this.pickup) return { pickup_point_id: this.pickup.id };
    if (this.point) return { lat: this.point.lat, lng: this.point.lng };
    return {};
  }

  // -- products --------------------------------------------------------------------------------

  async loadProducts(fresh) {
    const list = this.$("#products");
    const params = new URLSearchParams({ ...this.where(), limit: "20" });
    if (this.q) params.set("q", this.q);
    if (!fresh && this.next) params.set("after", this.next);
    list.setAttribute("aria-busy", "true");
    try {
      const page = await this.call("GET", `/v1/storefront/products?${params}`);
      this.clearError();
      if (fresh) {
        list.innerHTML = "";
        this.items.clear();
      }
      for (const item of page.data) {
        this.items.set(item.id, item);
        list.append(this.productRow(item));
      }
      if (fresh && page.data.length === 0) list.innerHTML = `<li class="status">${esc(this.t("none"))}</li>`;
      this.next = page.next_cursor;
      this.$("#more").hidden = !page.has_more;
      this.renderCart();
    } catch (failure) {
      this.showError(failure.message, failure.status);
    } finally {
      list.setAttribute("aria-busy", "false");
    }
  }

  money(price) {
    const format = new Intl.NumberFormat(this.locale, { style: "currency", currency: price.currency });
    const digits = format.resolvedOptions().maximumFractionDigits;
    return format.format(price.amount / 10 ** digits);
  }

  promise(item) {
    if (item.in_stock === false) return { text: this.t("outOfStock"), tier: "out" };
    if (item.in_stock === null || item.in_stock === undefined || !item.promised_at) return null;
    if (item.tier === "near" && item.eta_minutes <= 90) {
      return { text: this.t("minutes", { n: Math.max(5, Math.ceil(item.eta_minutes / 5) * 5) }), tier: "near" };
    }
    const at = new Date(item.promised_at);
    const now = new Date();
    const day = (d) => new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
    const days = Math.round((day(at) - day(now)) / 86400000);
    const time = this.clock(at);
    if (days <= 0) return { text: this.t("today", { time }), tier: item.tier };
    if (days === 1) return { text: item.tier === "far" ? this.t("tomorrow") : this.t("tomorrowAt", { time }), tier: item.tier };
    const date = new Intl.DateTimeFormat(this.locale, { weekday: "short", month: "short", day: "numeric" }).format(at);
    return { text: this.t("on", { date }), tier: item.tier };
  }

  clock(at) {
    if (this.locale === "en") {
      const hours = at.getHours() % 12 || 12;
      const suffix = at.getHours() < 12 ? "am" : "pm";
      return at.getMinutes() ? `${hours}:${String(at.getMinutes()).padStart(2, "0")} ${suffix}` : `${hours} ${suffix}`;
    }
    return `${String(at.getHours()).padStart(2, "0")}:${String(at.getMinutes()).padStart(2, "0")}`;
  }

  productRow(item) {
    const row = document.createElement("li");
    row.className = "product";
    row.dataset.sku = item.sku;
    row.dataset.id = item.id;
    const promise = this.promise(item);
    const title = item.title;
    row.innerHTML = `<span><span class="title">${esc(title)}</span>
      <span class="variant">${esc(item.variant_title)}</span></span>
      <span class="price">${esc(this.money(item.price))}</span>
      <span class="promise ${promise ? esc(promise.tier) : ""}">${promise ? esc(promise.text) : ""}</span>
      <button type="button" class="add" aria-label="${esc(this.t("addLabel", { title }))}">${esc(this.t("add"))}</button>`;
    const button = row.querySelector("button.add");
    button.disabled = item.in_stock === false;
    button.addEventListener("click", () => this.add(item.id));
    return row;
  }

  // -- the cart --------------------------------------------------------------------------------

  add(id) {
    this.basket.set(id, (this.basket.get(id) || 0) + 1);
    this.$("#announce").textContent = this.t("added", { title: this.items.get(id)?.title || "" });
    this.changed();
  }

  setQty(id, qty) {
    if (qty <= 0) this.basket.delete(id);
    else this.basket.set(id, qty);
    this.changed();
  }

  changed() {
    this.dropHeldCart();
    this.renderCart();
  }

  renderCart() {
    const lines = this.$("#lines");
    lines.innerHTML = "";
    let subtotal = 0;
    let currency = null;
    for (const [id, qty] of this.basket) {
      const item = this.items.get(id);
      if (!item) continue;
      subtotal += item.price.amount * qty;
      currency = item.price.currency;
      const row = document.createElement("li");
      row.className = "line";
      row.dataset.sku = item.sku;
      const title = item.title;
      row.innerHTML = `<span class="title">${esc(title)}</span>
        <button type="button" class="plain less" aria-label="${esc(this.t("less", { title }))}">−</button>
        <output class="qty" aria-label="${esc(this.t("qty", { title }))}">${qty}</output>
        <button type="button" class="plain plus" aria-label="${esc(this.t("plus", { title }))}">+</button>
        <button type="button" class="plain remove" aria-label="${esc(this.t("remove", { title }))}">×</button>`;
      row.querySelector(".less").addEventListener("click", () => this.setQty(id, qty - 1));
      row.querySelector(".plus").addEventListener("click", () => this.setQty(id, qty + 1));
      row.querySelector(".remove").addEventListener("click", () => this.setQty(id, 0));
      lines.append(row);
    }
    if (!lines.children.length) lines.innerHTML = `<li class="status">${esc(this.t("empty"))}</li>`;
    this.$("#subtotal").textContent = currency ? this.t("subtotal", { amount: this.money({ amount: subtotal, currency }) }) : "";
    this.$("#checkout").disabled = !currency || (!this.point && !this.pickup);
  }

  dropHeldCart() {
    // the shopper changed the cart or the place: give the held stock back at once
    const held = this.cart;
    this.cart = null;
    if (this.isConnected && this.$("#held")) this.$("#held").hidden = true;
    if (held && held.status === "open") {
      this.call("POST", `/v1/storefront/carts/${held.id}/release`, { client_secret: held.client_secret }).catch(() => {});
    }
  }

  async checkout() {
    const lines = [...this.basket].filter(([id]) => this.items.has(id)).map(([id, qty]) => ({ sku: this.items.get(id).sku, qty }));
    if (!lines.length) return;
    const body = { lines };
    if (this.pickup) body.pickup_point_id = this.pickup.id;
    else body.destination = { lat: this.point.lat, lng: this.point.lng };
    const button = this.$("#checkout");
    const held = this.$("#held");
    button.disabled = true;
    held.hidden = false;
    held.textContent = this.t("holding");
    try {
      const cart = await this.call("POST", "/v1/storefront/carts", body);
      this.clearError();
      this.cart = cart;
      const time = this.clock(new Date(cart.expires_at));
      const parcels = cart.shipments
        .map((s) => this.t("shipment", { count: s.lines.reduce((n, l) => n + l.qty, 0), promise: this.promise({ ...s, in_stock: true })?.text || "" }))
        .join(" · ");
      held.textContent = `${this.t("held", { time, amount: this.money(cart.total), fee: this.money(cart.delivery_fee) })} ${parcels}`;
      held.dataset.cartId = cart.id;
      this.dispatchEvent(
        new CustomEvent("gateway:checkout", {
          bubbles: true,
          composed: true,
          detail: { cart_id: cart.id, client_secret: cart.client_secret, total: cart.total, expires_at: cart.expires_at, cart },
        }),
      );
    } catch (failure) {
      held.hidden = true;
      this.showError(failure.message, failure.status);
    } finally {
      button.disabled = false;
    }
  }

  /** The partner placed the order: start afresh (the cart's stock is the order's now). */
  reset() {
    this.cart = null;
    this.basket.clear();
    this.$("#held").hidden = true;
    this.renderCart();
  }
}

if (!customElements.get("gateway-shop")) customElements.define("gateway-shop", GatewayShop);

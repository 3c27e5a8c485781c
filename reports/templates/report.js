(function () {
  "use strict";
  // Everything shown here comes from the JSON block and is inserted as text (textContent or
  // text nodes), never parsed as HTML.
  var D = JSON.parse(document.getElementById("flowaudit-data").textContent);
  var S = D.strings;
  var STATUS = ["finding", "waived", "ok"];
  var STATUS_TEXT = ["finding", "waived", "no finding"];
  var pagers = [];

  function t(i) { return S[i]; }
  function ts(list) { return list.map(t); }
  function $(id) { return document.getElementById(id); }
  function h(tag, cls, children, title) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (title) e.title = title;
    if (children !== undefined && children !== null) {
      if (!Array.isArray(children)) children = [children];
      for (var i = 0; i < children.length; i++) {
        var c = children[i];
        if (c === null || c === undefined || c === "") continue;
        e.append(c instanceof Node ? c : String(c));
      }
    }
    return e;
  }
  function fmt(n) { return Number(n).toLocaleString("en-GB"); }
  function option(select, value, text) { var o = document.createElement("option"); o.value = value; o.textContent = text; select.append(o); }
  function badge(cls, text) { return h("span", "badge " + cls, text); }
  function shortList(items, limit) {
    if (items.length <= limit) return items.join(", ");
    return items.slice(0, limit).join(", ") + " … +" + (items.length - limit) + " more";
  }
  function debounce(fn, ms) { var id = null; return function () { clearTimeout(id); id = setTimeout(fn, ms); }; }

  // --- a list drawn one page at a time ----------------------------------------------------
  function Pager(host, opts) {
    this.opts = opts;
    this.rows = [];
    this.page = 0;
    this.all = false;
    var self = this;
    this.sortCol = opts.sortCol === undefined ? -1 : opts.sortCol;
    this.sortDir = 1;
    this.heads = [];
    if (opts.head) {
      var table = h("table", "data reflow");
      var tr = h("tr");
      opts.head.forEach(function (c, i) {
        var th = h("th", c[1] || null);
        if (opts.sort && opts.sort[i]) {
          var b = h("button", "sort", c[0], "Sort by " + c[0].toLowerCase());
          b.type = "button";
          b.addEventListener("click", function () { self.sortBy(i); });
          th.append(b);
          th.setAttribute("aria-sort", "none");
        } else {
          th.append(c[0]);
        }
        self.heads.push(th);
        tr.append(th);
      });
      table.append(h("thead", null, tr));
      this.body = h("tbody");
      table.append(this.body);
      this.table = table;
    } else {
      this.body = h("div", "cards-list");
      this.table = this.body;
    }
    this.info = h("span", "pager-info");
    this.first = h("button", null, "« First"); this.prev = h("button", null, "‹ Previous");
    this.next = h("button", null, "Next ›"); this.last = h("button", null, "Last »");
    [this.first, this.prev, this.next, this.last].forEach(function (b) { b.type = "button"; });
    this.first.addEventListener("click", function () { self.go(0); });
    this.prev.addEventListener("click", function () { self.go(self.page - 1); });
    this.next.addEventListener("click", function () { self.go(self.page + 1); });
    this.last.addEventListener("click", function () { self.go(Infinity); });
    this.bar = h("div", "pager", [this.info, h("span", "spacer"), this.first, this.prev, this.next, this.last]);
    host.replaceChildren(this.table, this.bar);
    pagers.push(this);
  }
  Pager.prototype.pages = function () { return Math.max(1, Math.ceil(this.rows.length / this.opts.size)); };
  Pager.prototype.set = function (rows) { this.rows = this.sorted(rows); this.page = 0; this.draw(); };
  Pager.prototype.sorted = function (rows) {
    var key = this.opts.sort && this.sortCol >= 0 ? this.opts.sort[this.sortCol] : (this.opts.defaultSort || null);
    if (!key) return rows;
    var dir = this.opts.sort && this.sortCol >= 0 ? this.sortDir : 1;
    var keyed = rows.map(function (r, i) { return [key(r), i, r]; });
    keyed.sort(function (a, b) {
      var x = a[0], y = b[0];
      if (x < y) return -dir;
      if (x > y) return dir;
      return a[1] - b[1];
    });
    return keyed.map(function (k) { return k[2]; });
  };
  Pager.prototype.sortBy = function (col) {
    if (this.sortCol === col) this.sortDir = -this.sortDir; else { this.sortCol = col; this.sortDir = 1; }
    var self = this;
    this.heads.forEach(function (th, i) {
      if (th.hasAttribute("aria-sort")) th.setAttribute("aria-sort", i === self.sortCol ? (self.sortDir > 0 ? "ascending" : "descending") : "none");
    });
    this.set(this.rows);
  };
  Pager.prototype.go = function (page) { this.page = Math.max(0, Math.min(page, this.pages() - 1)); this.draw(); };
  Pager.prototype.draw = function () {
    var n = this.rows.length, size = this.opts.size;
    var start = this.all ? 0 : this.page * size;
    var end = this.all ? n : Math.min(n, start + size);
    var frag = document.createDocumentFragment();
    var head = this.opts.head;
    for (var i = start; i < end; i++) {
      var row = this.opts.render(this.rows[i], i);
      if (head && row.children) {
        // the column name travels with each cell, for the one-column layout on a phone
        for (var k = 0; k < row.children.length && k < head.length; k++) {
          if (!row.children[k].dataset.label) row.children[k].dataset.label = head[k][0];
        }
      }
      frag.append(row);
    }
    if (!n) {
      var empty = this.opts.empty || "Nothing matches.";
      if (this.opts.head) {
        var td = h("td", "empty", empty);
        td.colSpan = this.opts.head.length;
        frag.append(h("tr", null, td));
      } else {
        frag.append(h("p", "empty", empty));
      }
    }
    this.body.replaceChildren(frag);
    this.info.textContent = n ? ("Rows " + fmt(start + 1) + "–" + fmt(end) + " of " + fmt(n) +
      (this.all ? "" : " · page " + fmt(this.page + 1) + " of " + fmt(this.pages()))) : "No rows";
    this.first.disabled = this.prev.disabled = this.all || this.page === 0;
    this.next.disabled = this.last.disabled = this.all || this.page >= this.pages() - 1;
  };

  // --- findings -----------------------------------------------------------------------------
  var SEV = D.severities;
  var fState = { sev: new Set(SEV), rule: "", regime: "", kind: "", waived: "", q: "" };
  var fHay = [];
  function findingHay(r, i) {
    if (fHay[i] === undefined) {
      fHay[i] = [SEV[r[2]], t(r[0]), t(r[1]), t(r[3]), t(r[4]), t(r[12]), t(r[5]), t(r[6]), t(r[7]), t(r[10]), t(r[9]),
        ts(r[11]).map(function (x) { return D.regimes[x] || x; }).join(" "), r[8] ? "waived" : ""].join(" ").toLowerCase();
    }
    return fHay[i];
  }
  var findingsPager = new Pager($("findings-table"), {
    size: 100,
    empty: "No finding matches these filters.",
    head: [["Severity"], ["Rule"], ["Subject"], ["Finding", "msg"], ["Where"]],
    render: function (r) {
      var sev = SEV[r[2]];
      var sevCell = h("td", "nowrap", badge("sev-" + sev, sev));
      if (r[8]) { sevCell.append(" "); sevCell.append(badge("st-waived", "waived")); }
      var msg = h("td", "msg", [h("div", null, t(r[5])), h("div", "legal", t(r[6]))]);
      if (t(r[9])) msg.append(h("div", "fix", t(r[9])));
      msg.append(h("div", "fix", "Remediation: " + t(r[7])));
      var regimes = ts(r[11]).map(function (x) { return D.regimes[x] || x; }).join(", ");
      var tr = h("tr", r[8] ? "is-waived" : null, [
        sevCell,
        h("td", null, [h("div", "rule-id", t(r[0])), h("div", "rule-title", t(r[1]))]),
        h("td", null, [h("div", "rule-title", t(r[3])), h("code", null, t(r[4])),
          t(r[12]) && t(r[12]) !== t(r[4]) ? h("div", null, t(r[12])) : null, regimes ? h("div", "rule-title", regimes) : null]),
        msg,
        h("td", null, h("code", null, t(r[10]))),
      ]);
      tr.dataset.severity = sev;
      tr.dataset.rule = t(r[0]);
      tr.id = "finding-" + t(r[13]);
      return tr;
    },
  });
  function applyFindings() {
    var q = fState.q.trim().toLowerCase();
    var rows = [];
    for (var i = 0; i < D.findings.length; i++) {
      var r = D.findings[i];
      if (!fState.sev.has(SEV[r[2]])) continue;
      if (fState.rule && t(r[0]) !== fState.rule) continue;
      if (fState.regime) {
        if (fState.regime === "-") { if (r[11].length) continue; }
        else if (!r[11].some(function (x) { return t(x) === fState.regime; })) continue;
      }
      if (fState.kind && t(r[3]) !== fState.kind) continue;
      if (fState.waived && ((fState.waived === "yes") !== (r[8] === 1))) continue;
      if (q && findingHay(r, i).indexOf(q) < 0) continue;
      rows.push(r);
    }
    findingsPager.set(rows);
    var count = $("findings-count");
    count.dataset.count = String(rows.length);
    count.textContent = "Showing " + fmt(rows.length) + " of " + fmt(D.findings.length) + " findings";
  }
  (function setupFindings() {
    var rules = new Map(), kinds = new Map();
    D.findings.forEach(function (r) {
      var id = t(r[0]);
      if (!rules.has(id)) rules.set(id, [t(r[1]), 0]);
      rules.get(id)[1]++;
      kinds.set(t(r[3]), (kinds.get(t(r[3])) || 0) + 1);
    });
    Array.from(rules.keys()).sort().forEach(function (id) {
      option($("f-rule"), id, id + " · " + rules.get(id)[0] + " (" + fmt(rules.get(id)[1]) + ")");
    });
    Object.keys(D.regimes).forEach(function (id) { option($("f-regime"), id, D.regimes[id]); });
    option($("f-regime"), "-", "no regime (not a transfer)");
    Array.from(kinds.keys()).sort().forEach(function (k) { option($("f-kind"), k, k + " (" + fmt(kinds.get(k)) + ")"); });
    var chips = document.querySelectorAll("#f-severity .chip");
    chips.forEach(function (chip) {
      chip.addEventListener("click", function () {
        var sev = chip.dataset.severity;
        var on = chip.getAttribute("aria-pressed") !== "true";
        chip.setAttribute("aria-pressed", on ? "true" : "false");
        if (on) fState.sev.add(sev); else fState.sev.delete(sev);
        applyFindings();
      });
    });
    function onlySeverity(sev) {
      chips.forEach(function (chip) {
        var on = chip.dataset.severity === sev;
        chip.setAttribute("aria-pressed", on ? "true" : "false");
      });
      fState.sev = new Set([sev]);
      applyFindings();
      $("findings").scrollIntoView();
    }
    document.querySelectorAll(".sev-card").forEach(function (card) {
      card.addEventListener("click", function () { onlySeverity(card.dataset.severity); });
    });
    [["f-rule", "rule"], ["f-regime", "regime"], ["f-kind", "kind"], ["f-waived", "waived"]].forEach(function (p) {
      $(p[0]).addEventListener("change", function () { fState[p[1]] = $(p[0]).value; applyFindings(); });
    });
    $("f-search").addEventListener("input", debounce(function () { fState.q = $("f-search").value; applyFindings(); }, 150));
    $("f-reset").addEventListener("click", function () {
      fState = { sev: new Set(SEV), rule: "", regime: "", kind: "", waived: "", q: "" };
      chips.forEach(function (chip) { chip.setAttribute("aria-pressed", "true"); });
      ["f-rule", "f-regime", "f-kind", "f-waived", "f-search"].forEach(function (id) { $(id).value = ""; });
      applyFindings();
    });
    applyFindings();
    // a link to one finding (#finding-RULE--subject, e.g. from "What to fix first"): show it
    // among all findings, on its page, and mark it
    function reveal() {
      var hash = decodeURIComponent(location.hash || "");
      if (hash.indexOf("#finding-") !== 0) return;
      var anchor = hash.slice("#finding-".length);
      $("f-reset").click();
      var at = findingsPager.rows.findIndex(function (r) { return t(r[13]) === anchor; });
      if (at < 0) return;
      findingsPager.go(Math.floor(at / findingsPager.opts.size));
      var row = document.getElementById("finding-" + anchor);
      if (row) {
        document.querySelectorAll("tr.target").forEach(function (x) { x.classList.remove("target"); });
        row.classList.add("target");
        row.scrollIntoView({ block: "center" });
      }
    }
    window.addEventListener("hashchange", reveal);
    document.querySelectorAll(".fix-link").forEach(function (a) {
      a.addEventListener("click", function (ev) {
        if (location.hash === a.getAttribute("href")) { ev.preventDefault(); reveal(); }
      });
    });
    var more = document.querySelector(".fix-more");
    if (more) more.addEventListener("click", function () {
      $("f-reset").click();
      chips.forEach(function (chip) {
        var on = chip.dataset.severity === "critical" || chip.dataset.severity === "high";
        chip.setAttribute("aria-pressed", on ? "true" : "false");
      });
      fState.sev = new Set(["critical", "high"]);
      $("f-waived").value = "no"; fState.waived = "no";
      applyFindings();
    });
    reveal();
  })();

  // --- transfers ----------------------------------------------------------------------------
  var tState = { country: "", regime: "", safeguard: "", status: "", q: "" };
  var tHay = [];
  function sccText(r) {
    var kind = D.safeguards[r[16]];
    var scc = [];
    if (t(r[9]) || t(r[10])) scc.push("SCC " + [t(r[9]), t(r[10])].filter(Boolean).join(" "));
    if (t(r[11]) || t(r[12])) scc.push("TIA " + [t(r[11]), t(r[12])].filter(Boolean).join(" "));
    else if (kind[0] === "safeguard") scc.push("no TIA");
    if (r[13].length) scc.push("measures: " + ts(r[13]).join(", "));
    return scc.join(" · ");
  }
  // worst first: a finding, then no safeguard, then a derogation, …; ties by flow id
  var SAFEGUARD_RANK = { "none": 0, "derogation": 1, "safeguard": 2, "pipl": 3, "adequacy": 4, "not-required": 5 };
  function worst(r) { return [r[18], SAFEGUARD_RANK[D.safeguards[r[16]][0]], t(r[0])].join("|"); }
  var transfersPager = new Pager($("transfers-table"), {
    size: 100,
    empty: "No restricted transfer matches these filters.",
    head: [["Flow"], ["Exporter → importer"], ["To"], ["Regime"], ["Data"], ["Safeguard"], ["SCC / TIA / measures"], ["Hop"], ["Status"]],
    defaultSort: worst,
    sort: [
      function (r) { return t(r[0]); },
      function (r) { return (t(r[3]) + " → " + t(r[4])).toLowerCase(); },
      function (r) { return ts(r[5]).join(","); },
      function (r) { return D.regimes[t(r[6])] || t(r[6]); },
      function (r) { return ts(r[7]).join(", ").toLowerCase(); },
      function (r) { return SAFEGUARD_RANK[D.safeguards[r[16]][0]] + "|" + t(r[17]); },
      function (r) { return sccText(r); },
      function (r) { return t(r[14]) + "|" + r[15].length; },
      worst,
    ],
    render: function (r) {
      var kind = D.safeguards[r[16]];
      var scc = [sccText(r)];
      var elements = ts(r[7]);
      var hop = h("td", null, h("div", null, t(r[14])));
      if (r[15].length) hop.append(h("div", "hop", ts(r[15]).join(" → ")));
      var status = h("td", "nowrap", badge("st-" + STATUS[r[18]], STATUS_TEXT[r[18]]));
      if (t(r[19])) status.append(h("div", "rule-title", t(r[19])));
      return h("tr", null, [
        h("td", null, [h("code", null, t(r[0])), h("div", "rule-title", t(r[1]) + " → " + t(r[2]))]),
        h("td", "wrap-cell", [h("div", null, t(r[3])), h("div", "hop", "→ " + t(r[4]))]),
        h("td", "nowrap strong", ts(r[5]).join(", ")),
        h("td", "nowrap", D.regimes[t(r[6])] || t(r[6])),
        h("td", "wrap-cell", shortList(elements, 6), elements.join(", ")),
        h("td", null, [badge("sg-" + kind[0], kind[1]), h("div", "rule-title", t(r[17]))]),
        h("td", "wrap-cell small", scc.join(" · ")),
        hop,
        status,
      ]);
    },
  });
  function applyTransfers() {
    var q = tState.q.trim().toLowerCase();
    var rows = [];
    for (var i = 0; i < D.transfers.length; i++) {
      var r = D.transfers[i];
      if (tState.country && !r[5].some(function (c) { return t(c) === tState.country; })) continue;
      if (tState.regime && t(r[6]) !== tState.regime) continue;
      if (tState.safeguard !== "" && String(r[16]) !== tState.safeguard) continue;
      if (tState.status !== "" && String(r[18]) !== tState.status) continue;
      if (q) {
        if (tHay[i] === undefined) {
          tHay[i] = [t(r[0]), t(r[1]), t(r[2]), t(r[3]), t(r[4]), ts(r[5]).join(" "), t(r[6]), D.regimes[t(r[6])] || "",
            ts(r[7]).join(" "), t(r[8]), D.safeguards[r[16]][1], t(r[17]), sccText(r), t(r[14]), ts(r[15]).join(" "),
            STATUS_TEXT[r[18]], t(r[19])].join(" ").toLowerCase();
        }
        if (tHay[i].indexOf(q) < 0) continue;
      }
      rows.push(r);
    }
    transfersPager.set(rows);
    var count = $("transfers-count");
    count.dataset.count = String(rows.length);
    count.textContent = "Showing " + fmt(rows.length) + " of " + fmt(D.transfers.length) + " restricted transfers";
  }
  (function setupTransfers() {
    var countries = new Map();
    D.transfers.forEach(function (r) { r[5].forEach(function (c) { countries.set(t(c), (countries.get(t(c)) || 0) + 1); }); });
    Array.from(countries.keys()).sort().forEach(function (c) { option($("t-country"), c, c + " (" + fmt(countries.get(c)) + ")"); });
    Object.keys(D.regimes).forEach(function (id) { option($("t-regime"), id, D.regimes[id]); });
    D.safeguards.forEach(function (s, i) { option($("t-safeguard"), String(i), s[1]); });
    [["t-country", "country"], ["t-regime", "regime"], ["t-safeguard", "safeguard"], ["t-status", "status"]].forEach(function (p) {
      $(p[0]).addEventListener("change", function () { tState[p[1]] = $(p[0]).value; applyTransfers(); });
    });
    $("t-search").addEventListener("input", debounce(function () { tState.q = $("t-search").value; applyTransfers(); }, 150));
    document.querySelectorAll(".country-row").forEach(function (row) {
      function pick() {
        $("t-country").value = row.dataset.country;
        tState.country = row.dataset.country;
        applyTransfers();
        $("transfers").scrollIntoView();
      }
      row.addEventListener("click", pick);
      row.addEventListener("keydown", function (ev) { if (ev.key === "Enter") pick(); });
    });
    applyTransfers();
  })();

  // --- generic tables -----------------------------------------------------------------------
  var ID_LIST = /^[a-z0-9][a-z0-9._-]*(, [a-z0-9][a-z0-9._-]*)+$/;
  function numericColumns(table) {
    var numeric = new Set(table.numeric || []);
    return numeric;
  }
  function tableHead(table) {
    var numeric = numericColumns(table);
    return table.columns.map(function (c, i) { return [c, numeric.has(i) ? "num" : null]; });
  }
  function tableRow(table) {
    var numeric = numericColumns(table);
    return function (r) {
      var tr = h("tr");
      r.forEach(function (v, i) {
        if (numeric.has(i)) { tr.append(h("td", "num", fmt(v))); return; }
        var text = t(v);
        if (ID_LIST.test(text)) {  // a list of ids: break between ids, never inside one
          var ids = text.split(", ");
          var shown = ids.length > 40 ? ids.slice(0, 40) : ids;
          var cell = h("td", "ids", null, ids.length > 40 ? text : null);
          shown.forEach(function (id, k) { if (k) cell.append(", "); cell.append(h("span", "nb", id)); });
          if (ids.length > 40) cell.append(" … +" + (ids.length - 40) + " more");
          tr.append(cell);
          return;
        }
        var td = h("td", text.length > 60 ? "wrap-cell" : null, text.length > 400 ? text.slice(0, 400) + " …" : text, text.length > 400 ? text : null);
        if (text.indexOf("MISSING") === 0) td.className = "missing";
        tr.append(td);
      });
      return tr;
    };
  }
  function rowText(table, r) {
    var numeric = numericColumns(table);
    return r.map(function (v, i) { return numeric.has(i) ? "" : t(v); }).join(" ").toLowerCase();
  }

  // --- the record of processing: a compact table, one row per processing activity, each
  // opening onto the whole Art. 30(1) entry --------------------------------------------------
  (function setupRecord() {
    var table = D.controller;
    var cols = table.columns;
    var idx = function (name) { return cols.indexOf(name); };
    var purposeCol = idx("Purpose of processing"), idCol = idx("Purpose id"), fnCol = idx("Business function");
    var findCol = idx("Findings"), basisCol = idx("Art. 6 lawful basis"), dataCol = idx("Categories of personal data");
    var retCol = idx("Retention schedule"), countriesCol = idx("Names of third countries or international organisations");
    var MISSING = /^(MISSING|required, none)/;
    var hay = [];
    function cell(text, cls) {
      return h("td", (MISSING.test(text) ? "missing " : "") + (cls || ""), text || "—");
    }
    var pager = new Pager($("record-table"), {
      size: 50,
      empty: "No processing activity matches.",
      head: [["Processing activity"], ["Business function"], ["Art. 6 basis"], ["Personal data"], ["Retention"], ["Third countries"], ["Findings"]],
      render: function (r) {
        var names = D.record_names[r.__i];
        var open = h("button", "expand", names[0], "Show the whole record entry");
        open.type = "button";
        open.setAttribute("aria-expanded", "false");
        var tr = h("tr", "record-row", [
          h("td", "record-name", [open, h("div", "rule-title", t(r[idCol]))]),
          cell(t(r[fnCol])),
          cell(t(r[basisCol])),
          h("td", "wrap-cell", shortList(t(r[dataCol]).split("; ").filter(Boolean), 4) || "—", t(r[dataCol])),
          cell(t(r[retCol])),
          h("td", "wrap-cell", t(r[countriesCol]) || "none"),
          h("td", t(r[findCol]) ? "bad" : null, t(r[findCol]) || "none"),
        ]);
        var detail = null;
        open.addEventListener("click", function () {
          if (detail) {
            detail.remove(); detail = null;
            open.setAttribute("aria-expanded", "false");
            return;
          }
          var dl = h("dl", "record-detail");
          cols.forEach(function (c, j) {
            if (j === idCol) return;
            var text = j === purposeCol ? (names[1] ? names[0] + ": " + names[1] : names[0]) : t(r[j]);
            dl.append(h("dt", null, c));
            dl.append(h("dd", MISSING.test(text) ? "missing" : null, text || "—"));
          });
          var td = h("td", "record-detail-cell", dl);
          td.colSpan = 7;
          td.dataset.label = "";
          detail = h("tr", "record-detail-row", td);
          tr.after(detail);
          open.setAttribute("aria-expanded", "true");
        });
        return tr;
      },
    });
    var indexed = table.rows.map(function (r, i) { var copy = r.slice(); copy.__i = i; return copy; });
    function apply() {
      var q = $("r-search").value.trim().toLowerCase();
      var rows = indexed.filter(function (r) {
        if (!q) return true;
        if (hay[r.__i] === undefined) hay[r.__i] = rowText(table, r) + " " + D.record_names[r.__i].join(" ").toLowerCase();
        return hay[r.__i].indexOf(q) >= 0;
      });
      pager.set(rows);
      $("record-count").textContent = fmt(rows.length) + " of " + fmt(table.rows.length) + " processing activities (controller); open one for its whole Art. 30(1) entry";
    }
    $("r-search").addEventListener("input", debounce(apply, 150));
    apply();
    var host = $("processor-table");
    if (host) {
      var p = new Pager(host, { size: 50, head: tableHead(D.processor), render: tableRow(D.processor) });
      p.set(D.processor.rows);
    }
  })();

  // --- lineage --------------------------------------------------------------------------------
  (function setupLineage() {
    var L = D.lineage;
    function nodeText(n) {
      var node = L.nodes[n];
      return t(node[0]) + (t(node[3]) ? " (" + t(node[3]) + ")" : "");
    }
    function render(details) {
      var e = L.elements[Number(details.dataset.index)];
      var body = details.querySelector(".lineage-body");
      var collected = [], seen = new Set();
      e.flows.forEach(function (fi) {
        var f = L.flows[fi];
        if (t(L.nodes[f[1]][2]) === "subject" && !seen.has(f[1])) { seen.add(f[1]); collected.push(nodeText(f[1]) + " → " + nodeText(f[2])); }
      });
      var parts = [];
      parts.push(h("h5", null, "Collected from"));
      var ul = h("ul");
      (collected.length ? collected : ts(e.subjects).map(function (s) { return s + " (no collection flow recorded)"; }))
        .forEach(function (s) { ul.append(h("li", null, s)); });
      if (!ul.childNodes.length) ul.append(h("li", "empty", "no collection recorded"));
      parts.push(ul);
      parts.push(h("h5", null, "Flows carrying it, from the source onwards (" + fmt(e.flows.length) + ")"));
      var host = h("div", "table-host");
      parts.push(host);
      parts.push(h("h5", null, "Stored in"));
      var stored = h("ul");
      e.stored.forEach(function (n) { stored.append(h("li", null, nodeText(n) + " · " + t(L.nodes[n][4]))); });
      if (!e.stored.length) stored.append(h("li", "empty", "no system records storing it"));
      parts.push(stored);
      parts.push(h("h5", null, "Reaches " + e.orgs.length + " external organisation" + (e.orgs.length === 1 ? "" : "s") + " in " + e.countries.length + " countr" + (e.countries.length === 1 ? "y" : "ies")));
      parts.push(h("p", null, ts(e.orgs).join("; ") || "no external organisation"));
      parts.push(h("p", "small", ts(e.countries).join(", ")));
      body.replaceChildren.apply(body, parts);
      var pager = new Pager(host, {
        size: 50,
        head: [["#", "num"], ["Flow"], ["From"], ["To"], ["Transfer"], ["Status"]],
        render: function (fi, i) {
          var f = L.flows[fi];
          var transfer = ts(f[4]);
          return h("tr", null, [
            h("td", "num", fmt(i + 1)),
            h("td", null, [h("code", null, t(f[0])), h("div", "rule-title", ts(f[5]).join(", "))]),
            h("td", "wrap-cell", nodeText(f[1])),
            h("td", "wrap-cell", [h("div", null, nodeText(f[2])), h("div", "rule-title", t(L.nodes[f[2]][4]))]),
            h("td", "wrap-cell", transfer.length ? transfer.join("; ") : h("span", "hop", "not a restricted transfer")),
            h("td", null, badge("st-" + STATUS[f[3]], STATUS_TEXT[f[3]])),
          ]);
        },
      });
      pager.set(e.flows);
    }
    document.querySelectorAll("details.lineage").forEach(function (d) {
      d.addEventListener("toggle", function () {
        if (d.open && !d.dataset.rendered) { d.dataset.rendered = "1"; render(d); }
      });
    });
    $("l-search").addEventListener("input", debounce(function () {
      var q = $("l-search").value.trim().toLowerCase();
      document.querySelectorAll("details.lineage").forEach(function (d) {
        d.hidden = q !== "" && d.dataset.search.indexOf(q) < 0;
      });
    }, 150));
  })();

  // --- exposure heat map ----------------------------------------------------------------------
  (function setupExposure() {
    var X = D.exposure;
    var host = $("exposure-host");
    if (!X.rows.length) { host.append(h("p", "empty", "No element reaches an external organisation.")); return; }
    var top = 1;
    X.rows.forEach(function (r) { r[3].forEach(function (v) { if (v && v > top) top = v; }); });
    function colour(v) {
      var k = Math.log(1 + v) / Math.log(1 + top);
      var stops = [[254, 243, 199], [251, 146, 60], [185, 28, 28]];
      var a = k < 0.5 ? stops[0] : stops[1], b = k < 0.5 ? stops[1] : stops[2], u = k < 0.5 ? k * 2 : (k - 0.5) * 2;
      var c = a.map(function (x, i) { return Math.round(x + (b[i] - x) * u); });
      return ["rgb(" + c.join(",") + ")", k > 0.62 ? "#fff" : "#111827"];
    }
    var table = h("table", "heat");
    var head = h("tr", null, h("th", null, "Element"));
    X.orgs.forEach(function (o) {
      var label = t(o[0]);
      head.append(h("th", "org", h("span", null, [label, h("span", "rel", " · " + t(o[1]) + " · " + t(o[2]))]), label + " (" + t(o[1]) + ", " + t(o[2]) + ")"));
    });
    table.append(h("thead", null, head));
    var body = h("tbody");
    table.append(body);
    var pagerHost = h("div");
    host.replaceChildren(table, pagerHost);
    // the pager draws rows into the heat table's body
    var pager = new Pager(pagerHost, {
      size: 40,
      render: function (r) {
        var label = [t(r[1]), h("span", "rel", " · " + t(r[2]))];
        if (r[4]) label.push(h("span", "tag tag-child", "child", "its data subjects include children"));
        var tr = h("tr", r[4] ? "has-child" : null, h("th", null, label, t(r[0]) + (r[4] ? " (children's data)" : "")));
        r[3].forEach(function (v, j) {
          var td = h("td", "v");
          if (v === null) { tr.append(td); return; }
          var org = t(X.orgs[j][0]);
          if (v === 0) { td.classList.add("stored"); td.title = t(r[1]) + ": stored by " + org; tr.append(td); return; }
          var c = colour(v);
          td.style.backgroundColor = c[0];
          td.style.color = c[1];
          td.textContent = v > 999 ? Math.round(v / 1000) + "k" : String(v);
          td.title = t(r[1]) + " → " + org + ": " + fmt(v) + " flow" + (v === 1 ? "" : "s");
          tr.append(td);
        });
        return tr;
      },
    });
    pager.body = body;
    pager.table.remove();
    function apply() {
      var q = $("x-search").value.trim().toLowerCase();
      var rows = X.rows.filter(function (r) { return !q || (t(r[0]) + " " + t(r[1]) + " " + t(r[2]) + (r[4] ? " child children" : "")).toLowerCase().indexOf(q) >= 0; });
      pager.set(rows);
      $("exposure-count").textContent = fmt(rows.length) + " elements × " + fmt(X.orgs.length) + " external organisations";
    }
    $("x-search").addEventListener("input", debounce(apply, 150));
    apply();
  })();

  // --- inventory tables -----------------------------------------------------------------------
  (function setupInventory() {
    var current = "elements";
    var pager = null;
    var hay = {};
    function show(name) {
      current = name;
      document.querySelectorAll(".tab").forEach(function (b) { b.setAttribute("aria-selected", b.dataset.table === name ? "true" : "false"); });
      var table = D[name];
      if (pager) pagers.splice(pagers.indexOf(pager), 1);
      pager = new Pager($("inventory-table"), { size: 50, head: tableHead(table), render: tableRow(table) });
      apply();
    }
    function apply() {
      var table = D[current];
      var q = $("i-search").value.trim().toLowerCase();
      if (!hay[current]) hay[current] = [];
      var cache = hay[current];
      var rows = table.rows.filter(function (r, i) {
        if (!q) return true;
        if (cache[i] === undefined) cache[i] = rowText(table, r);
        return cache[i].indexOf(q) >= 0;
      });
      pager.set(rows);
      $("inventory-count").textContent = fmt(rows.length) + " of " + fmt(table.rows.length) + " " + current;
    }
    document.querySelectorAll(".tab").forEach(function (b) { b.addEventListener("click", function () { show(b.dataset.table); }); });
    $("i-search").addEventListener("input", debounce(apply, 150));
    show("elements");
  })();

  // --- diagram and printing -------------------------------------------------------------------
  var fit = $("d-fit");
  var diagram = $("diagram-host");
  if (fit && diagram) {
    fit.addEventListener("click", function () {
      var on = diagram.classList.toggle("fit");
      fit.textContent = on ? "Actual size" : "Fit to width";
    });
    diagram.classList.add("fit");
    fit.textContent = "Actual size";
  } else if (fit) {
    fit.hidden = true;
  }
  window.addEventListener("beforeprint", function () {
    pagers.forEach(function (p) { if (p.rows.length <= 3000) { p.all = true; p.draw(); } });
  });
  window.addEventListener("afterprint", function () {
    pagers.forEach(function (p) { if (p.all) { p.all = false; p.draw(); } });
  });
})();

/* Organisation picker (see app/templates/_org_picker.html): type-ahead search and a lazily
 * loaded tree over GET /api/v1/registrations/organisations; the chosen id goes into the hidden
 * input that carries the form field's name. Plain JavaScript, no build step. */
(function () {
  'use strict';

  var SEARCH_LIMIT = 20;
  var BROWSE_LIMIT = 50;
  var DELAY_MS = 250;
  var uid = 0;

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function Picker(root) {
    this.root = root;
    this.endpoint = root.getAttribute('data-endpoint');
    this.kinds = (root.getAttribute('data-kinds') || '').split(',').filter(Boolean);
    this.hidden = root.querySelector('[data-org-picker-value]');
    this.search = root.querySelector('[data-org-picker-search]');
    this.results = root.querySelector('[data-org-picker-results]');
    this.status = root.querySelector('[data-org-picker-status]');
    this.browseButton = root.querySelector('[data-org-picker-browse]');
    this.tree = root.querySelector('[data-org-picker-tree]');
    this.chosenText = root.querySelector('[data-org-picker-chosen]');
    this.chosenName = this.hidden.getAttribute('data-chosen-name') || '';
    this.timer = null;
    this.request = null;
    this.options = [];
    this.active = -1;
    this.prefix = this.hidden.id + '-opt-';
    root.querySelector('[data-org-picker-js]').hidden = false;
    this.search.value = this.chosenName;
    this.bind();
  }

  Picker.prototype.url = function (params) {
    var query = Object.keys(params).filter(function (k) { return params[k] !== '' && params[k] !== null; })
      .map(function (k) { return encodeURIComponent(k) + '=' + encodeURIComponent(params[k]); }).join('&');
    return this.endpoint + (query ? '?' + query : '');
  };

  Picker.prototype.fetch = function (params) {
    if (this.request && params.q !== undefined) this.request.abort();
    var ctrl = window.AbortController ? new AbortController() : null;
    if (params.q !== undefined) this.request = ctrl;
    return fetch(this.url(params), { headers: { Accept: 'application/json' }, signal: ctrl ? ctrl.signal : undefined })
      .then(function (resp) {
        if (!resp.ok) throw new Error('HTTP ' + resp.status);
        return resp.json().then(function (rows) {
          return { rows: rows, more: resp.headers.get('X-More-Results') === 'true' };
        });
      });
  };

  Picker.prototype.bind = function () {
    var self = this;
    this.search.addEventListener('input', function () {
      if (self.search.value.trim() !== self.chosenName) self.clear();
      clearTimeout(self.timer);
      self.timer = setTimeout(function () { self.lookup(self.search.value.trim()); }, DELAY_MS);
    });
    this.search.addEventListener('keydown', function (ev) { self.key(ev); });
    this.search.addEventListener('blur', function () { setTimeout(function () { self.close(); }, 150); });
    this.results.addEventListener('mousedown', function (ev) { ev.preventDefault(); });
    this.browseButton.addEventListener('click', function () { self.toggleTree(); });
  };

  Picker.prototype.say = function (text) { this.status.textContent = text; };

  Picker.prototype.lookup = function (q) {
    var self = this;
    if (!q) { this.close(); return; }
    this.fetch({ q: q, kind: this.kinds.join(','), limit: SEARCH_LIMIT }).then(function (page) {
      if (self.search.value.trim() !== q) return;
      self.show(page.rows, page.more);
    }).catch(function (err) {
      if (err && err.name === 'AbortError') return;
      self.show([], false, '查询失败，请稍后重试');
    });
  };

  Picker.prototype.show = function (rows, more, failure) {
    var self = this;
    this.results.textContent = '';
    this.options = rows;
    this.active = -1;
    this.search.removeAttribute('aria-activedescendant');
    rows.forEach(function (org, i) {
      var li = el('li', { id: self.prefix + i, role: 'option', 'aria-selected': 'false',
                          class: 'list-group-item list-group-item-action org-picker-option' });
      li.appendChild(el('div', {}, org.name));
      li.appendChild(el('div', { class: 'small text-muted' }, org.path.join(' / ')));
      li.addEventListener('click', function () { self.choose(org); });
      self.results.appendChild(li);
    });
    var note = failure || (rows.length ? (more ? '结果较多，仅显示前' + rows.length + '个，请输入更完整的名称' : '')
                                       : '没有找到匹配的单位，可改用“按层级浏览”');
    if (note) self.results.appendChild(el('li', { class: 'list-group-item small text-muted', role: 'presentation' }, note));
    this.results.hidden = false;
    this.search.setAttribute('aria-expanded', 'true');
    this.say(rows.length ? '找到' + rows.length + '个单位' + (more ? '（仅显示部分）' : '') + '，用上下方向键选择'
                         : note);
  };

  Picker.prototype.close = function () {
    this.results.hidden = true;
    this.search.setAttribute('aria-expanded', 'false');
    this.search.removeAttribute('aria-activedescendant');
    this.active = -1;
  };

  Picker.prototype.move = function (delta) {
    if (!this.options.length) return;
    var prev = this.active >= 0 ? this.results.children[this.active] : null;
    if (prev) { prev.setAttribute('aria-selected', 'false'); prev.classList.remove('active'); }
    this.active = (this.active + delta + this.options.length) % this.options.length;
    var li = this.results.children[this.active];
    li.setAttribute('aria-selected', 'true');
    li.classList.add('active');
    li.scrollIntoView({ block: 'nearest' });
    this.search.setAttribute('aria-activedescendant', li.id);
  };

  Picker.prototype.key = function (ev) {
    var open = !this.results.hidden;
    if (ev.key === 'ArrowDown') { ev.preventDefault(); if (open) this.move(1); else this.lookup(this.search.value.trim()); }
    else if (ev.key === 'ArrowUp') { if (open) { ev.preventDefault(); this.move(-1); } }
    else if (ev.key === 'Enter') {
      if (open) ev.preventDefault();  // never submit the form from the search box
      if (open && this.active >= 0) this.choose(this.options[this.active]);
    } else if (ev.key === 'Escape') { if (open) { ev.preventDefault(); this.close(); } }
  };

  Picker.prototype.choose = function (org) {
    this.hidden.value = String(org.id);
    this.chosenName = org.name;
    this.search.value = org.name;
    this.chosenText.textContent = '已选择：';
    this.chosenText.appendChild(el('strong', {}, org.path.join(' / ')));
    this.close();
    this.say('已选择 ' + org.path.join(' / '));
    this.hidden.dispatchEvent(new Event('change', { bubbles: true }));
  };

  Picker.prototype.clear = function () {
    if (!this.hidden.value) return;
    this.hidden.value = '';
    this.chosenName = '';
    this.chosenText.textContent = '尚未选择';
    this.hidden.dispatchEvent(new Event('change', { bubbles: true }));
  };

  /* ---- the tree: one level at a time, "加载更多" continues with the keyset cursor ---- */

  Picker.prototype.toggleTree = function () {
    var open = this.tree.hidden;
    this.tree.hidden = !open;
    this.browseButton.setAttribute('aria-expanded', open ? 'true' : 'false');
    if (open && !this.tree.firstChild) this.level(this.tree, null, null);
  };

  Picker.prototype.level = function (container, parentId, after) {
    var self = this;
    var list = container.querySelector(':scope > ul');
    if (!list) { list = el('ul', { class: 'list-unstyled mb-0 org-picker-level' }); container.appendChild(list); }
    var loading = el('li', { class: 'small text-muted' }, '正在加载…');
    list.appendChild(loading);
    this.fetch({ parent_id: parentId === null ? '' : parentId, after: after === null ? '' : after,
                 limit: BROWSE_LIMIT }).then(function (page) {
      loading.remove();
      if (!page.rows.length && after === null) list.appendChild(el('li', { class: 'small text-muted' }, '没有下级单位'));
      page.rows.forEach(function (org) { list.appendChild(self.node(org)); });
      if (page.more) {
        var li = el('li');
        var more = el('button', { type: 'button', class: 'btn btn-link btn-sm p-0' }, '加载更多…');
        more.addEventListener('click', function () {
          li.remove();
          self.level(container, parentId, page.rows[page.rows.length - 1].id);
        });
        li.appendChild(more);
        list.appendChild(li);
      }
    }).catch(function () { loading.textContent = '加载失败，请稍后重试'; });
  };

  Picker.prototype.node = function (org) {
    var self = this;
    var li = el('li', { class: 'org-picker-node ps-3' });
    var row = el('div', { class: 'd-flex align-items-center gap-1 py-1' });
    var id = this.hidden.id + '-node-' + org.id + '-' + (++uid);
    if (org.has_children) {
      var toggle = el('button', { type: 'button', class: 'btn btn-sm btn-light py-0 px-1', 'aria-expanded': 'false',
                                  'aria-controls': id, 'aria-label': '展开 ' + org.name }, '▸');
      var sub = el('div', { id: id, hidden: '' });
      toggle.addEventListener('click', function () {
        var opening = sub.hidden;
        sub.hidden = !opening;
        toggle.setAttribute('aria-expanded', opening ? 'true' : 'false');
        toggle.setAttribute('aria-label', (opening ? '收起 ' : '展开 ') + org.name);
        toggle.textContent = opening ? '▾' : '▸';
        if (opening && !sub.firstChild) self.level(sub, org.id, null);
      });
      row.appendChild(toggle);
      li.appendChild(row);
      li.appendChild(sub);
    } else {
      row.appendChild(el('span', { class: 'd-inline-block', style: 'width:1.6rem', 'aria-hidden': 'true' }));
      li.appendChild(row);
    }
    var selectable = !this.kinds.length || this.kinds.indexOf(org.kind) >= 0;
    row.appendChild(el('span', selectable ? {} : { class: 'text-muted' }, org.name));
    if (selectable) {
      var pick = el('button', { type: 'button', class: 'btn btn-sm btn-outline-primary py-0 ms-auto',
                                'aria-label': '选择 ' + org.name }, '选择');
      pick.addEventListener('click', function () {
        self.choose(org);
        self.tree.hidden = true;
        self.browseButton.setAttribute('aria-expanded', 'false');
        self.search.focus();
      });
      row.appendChild(pick);
    }
    return li;
  };

  function init() {
    document.querySelectorAll('[data-org-picker]').forEach(function (root) {
      if (!root.orgPicker) root.orgPicker = new Picker(root);
    });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
  window.OrgPicker = { init: init };
})();

// novabox dashboard: status counts, a live server table fed by the event stream, a status filter,
// a per-server timeline, and buttons for common actions and fault injection. No framework.
const $ = (sel) => document.querySelector(sel);
const api = '/dashboard/api';
const state = {
  statuses: {}, // status -> count
  projects: {}, // id -> name
  servers: new Map(), // id -> row
  filter: new URLSearchParams(location.search).get('status')?.toUpperCase() ?? '',
  selected: null,
  token: sessionStorage.getItem('novabox_token'),
  source: null,
};

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (v !== null && v !== undefined) e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(c ?? ''));
  return e;
}

async function get(path) {
  const res = await fetch(api + path, { headers: state.token ? { 'x-auth-token': state.token } : {} });
  if (res.status === 401 || res.status === 403) {
    showLogin('This novabox is not bound to loopback: sign in as an administrator to see it.');
    throw new Error(`HTTP ${res.status}`);
  }
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  return res.json();
}

// ---- status counts ------------------------------------------------------------------------------

function renderCounts() {
  const box = $('#statuses');
  box.replaceChildren(...Object.entries(state.statuses).map(([status, n]) => el('button', {
    type: 'button', class: `count${n === 0 ? ' zero' : ''}${state.filter === status ? ' selected' : ''}`, 'data-status': status,
    title: `show ${status} servers`, onclick: () => setFilter(state.filter === status ? '' : status),
  }, el('b', {}, String(n)), el('span', {}, status))));
}

function bump(status, delta) {
  if (status in state.statuses) state.statuses[status] = Math.max(0, state.statuses[status] + delta);
}

// ---- the table ----------------------------------------------------------------------------------

const POWER = { 0: 'NOSTATE', 1: 'Running', 3: 'Paused', 4: 'Shutdown', 6: 'Crashed', 7: 'Suspended' };

function visible(s) {
  return state.filter ? s.status === state.filter : s.status !== 'DELETED';
}

function actionButtons(s) {
  const b = (label, fn, enabled = true) => el('button', { type: 'button', 'data-action': label, onclick: (ev) => { ev.stopPropagation(); fn(); }, ...(enabled ? {} : { disabled: '' }) }, label);
  const stable = s.task_state === null;
  return [
    b('reboot', () => act(s, { reboot: { type: 'SOFT' } }), stable && s.status === 'ACTIVE'),
    s.status === 'SHUTOFF' ? b('start', () => act(s, { 'os-start': null }), stable) : b('stop', () => act(s, { 'os-stop': null }), stable && (s.status === 'ACTIVE' || s.status === 'ERROR')),
    b('delete', () => remove(s), s.status !== 'DELETED'),
    b('fault', () => injectFault(s), s.status !== 'DELETED'),
  ];
}

function rowOf(s) {
  const tr = el('tr', { 'data-id': s.id, onclick: () => select(s.id) },
    el('td', { class: 'name' }, s.name),
    el('td', { class: 'project' }, s.project),
    el('td', { class: `status s-${s.status}` }, s.status),
    el('td', { class: 'task_state' }, s.task_state ?? '-'),
    el('td', { class: 'power_state' }, POWER[s.power_state] ?? String(s.power_state)),
    el('td', { class: 'host' }, s.host ?? ''),
    el('td', { class: 'actions' }, ...actionButtons(s)));
  if (state.selected === s.id) tr.classList.add('selected');
  return tr;
}

function renderTable() {
  const rows = [...state.servers.values()].filter(visible);
  $('#servers tbody').replaceChildren(...rows.map(rowOf));
  $('#shown').textContent = `${rows.length} server${rows.length === 1 ? '' : 's'} shown`;
}

function updateRow(s, flash) {
  const old = document.querySelector(`#servers tbody tr[data-id="${s.id}"]`);
  if (!visible(s)) {
    old?.remove();
  } else {
    const tr = rowOf(s);
    if (flash) tr.classList.add('flash');
    if (old) old.replaceWith(tr);
    else $('#servers tbody').prepend(tr);
  }
  $('#shown').textContent = `${document.querySelectorAll('#servers tbody tr').length} shown`;
}

async function loadServers() {
  const q = state.filter ? `?status=${encodeURIComponent(state.filter)}` : '';
  const { servers, last_event_id } = await get(`/servers${q}`);
  state.servers = new Map(servers.map((s) => [s.id, s]));
  renderTable();
  return last_event_id;
}

async function setFilter(status) {
  state.filter = status;
  $('#status-filter').value = status;
  const url = new URL(location.href);
  if (status) url.searchParams.set('status', status);
  else url.searchParams.delete('status');
  history.replaceState(null, '', url);
  renderCounts();
  await loadServers();
}

// ---- live events --------------------------------------------------------------------------------

function apply(e) {
  if (state.manual) $('#clock').textContent = `manual clock ${e.time}`;
  if (e.kind === 'transition') {
    if (e.previous) bump(e.previous.status, -1);
    bump(e.status, +1);
    renderCounts();
    const s = state.servers.get(e.server_id) ?? { id: e.server_id };
    Object.assign(s, {
      name: e.name, project_id: e.project_id, project: state.projects[e.project_id] ?? e.project_id, status: e.status,
      vm_state: e.vm_state, task_state: e.task_state, power_state: e.power_state, host: e.host, updated: e.time,
    });
    state.servers.set(s.id, s);
    updateRow(s, true);
  }
  if (state.selected === e.server_id) addTimeline(e);
}

function subscribe(lastId) {
  state.source?.close();
  const src = new EventSource(`${api}/events?last_event_id=${lastId}`);
  state.source = src;
  src.onopen = () => { $('#live').textContent = 'live'; $('#live').className = 'pill on'; };
  src.onerror = () => { $('#live').textContent = 'reconnecting'; $('#live').className = 'pill off'; };
  src.onmessage = (m) => apply(JSON.parse(m.data));
  // Events were lost while away: reload what is shown.
  src.addEventListener('gap', () => { void start(); });
}

// ---- timeline -----------------------------------------------------------------------------------

function line(time, text) {
  return el('li', {}, el('time', { datetime: time }, time.slice(11, 23)), text);
}

function addTimeline(e) {
  const list = $('#timeline-list');
  if (e.kind === 'transition') list.append(line(e.time, `${e.status} · ${e.task_state ?? '-'} (${e.action ?? ''})`));
  else if (e.kind === 'action') list.append(line(e.time, `${e.phase === 'start' ? '▶' : '■'} ${e.action}${e.result ? ` ${e.result}` : ''}`));
  else list.append(line(e.time, `  ${e.phase === 'start' ? '↳' : '✓'} ${e.event}${e.result ? ` ${e.result}` : ''}`));
}

async function select(id) {
  state.selected = id;
  document.querySelectorAll('#servers tbody tr').forEach((tr) => tr.classList.toggle('selected', tr.dataset.id === id));
  const s = state.servers.get(id);
  $('#timeline').hidden = false;
  $('#timeline-title').textContent = `${s?.name ?? id} — timeline`;
  const { transitions, actions } = await get(`/servers/${id}/timeline`);
  const items = [
    ...transitions.map((e) => ({ time: e.time, e })),
    ...actions.flatMap((a) => [
      { time: a.start_time, e: { kind: 'action', phase: 'start', action: a.action, time: a.start_time } },
      ...a.events.flatMap((ev) => [
        { time: ev.start_time, e: { kind: 'action_event', phase: 'start', event: ev.event, time: ev.start_time } },
        ...(ev.finish_time ? [{ time: ev.finish_time, e: { kind: 'action_event', phase: 'end', event: ev.event, result: ev.result, time: ev.finish_time } }] : []),
      ]),
      ...(a.finish_time ? [{ time: a.finish_time, e: { kind: 'action', phase: 'end', action: a.action, result: a.message ?? 'Success', time: a.finish_time } }] : []),
    ]),
  ].sort((a, b) => a.time.localeCompare(b.time));
  $('#timeline-list').replaceChildren();
  for (const i of items) addTimeline(i.e);
}

// ---- actions (need an admin token) --------------------------------------------------------------

function showLogin(why) {
  $('#login').hidden = false;
  if (why) $('#login-why').textContent = why;
}

async function call(method, url, body) {
  if (!state.token) {
    showLogin('Actions need an administrator: sign in first.');
    return;
  }
  const res = await fetch(url, { method, headers: { 'x-auth-token': state.token, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  if (res.status === 401) {
    state.token = null;
    sessionStorage.removeItem('novabox_token');
    showLogin('Your token expired: sign in again.');
    return;
  }
  $('#action-error').textContent = res.ok ? '' : `${method} ${url}: ${res.status} ${(await res.text()).slice(0, 200)}`;
}

const act = (s, body) => call('POST', `/compute/v2.1/servers/${s.id}/action`, body);
const remove = (s) => call('DELETE', `/compute/v2.1/servers/${s.id}`);
const injectFault = (s) => call('POST', '/novabox/v1/faults', { action: '*', op: '*', server_uuid: s.id, message: 'Fault injected from the dashboard' });

async function login(ev) {
  ev.preventDefault();
  const f = new FormData($('#login'));
  const res = await fetch('/identity/v3/auth/tokens', {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ auth: { identity: { methods: ['password'], password: { user: { name: f.get('username'), domain: { id: 'default' }, password: f.get('password') } } }, scope: { project: { name: f.get('project'), domain: { id: 'default' } } } } }),
  });
  if (res.status !== 201) {
    $('#login-error').textContent = `sign-in failed (${res.status})`;
    return;
  }
  state.token = res.headers.get('x-subject-token');
  sessionStorage.setItem('novabox_token', state.token);
  // EventSource cannot send headers: the stream reads the token from this cookie off loopback.
  document.cookie = `novabox_token=${encodeURIComponent(state.token)}; path=/dashboard; SameSite=Strict`;
  $('#login').hidden = true;
  $('#login-error').textContent = '';
  $('#who').textContent = `signed in as ${f.get('username')}`;
  await start();
}

// ---- start --------------------------------------------------------------------------------------

async function start() {
  const summary = await get('/summary');
  state.statuses = summary.statuses;
  state.projects = summary.projects;
  state.manual = summary.clock.kind === 'manual';
  $('#clock').textContent = state.manual ? `manual clock ${summary.clock.now}` : '';
  const select = $('#status-filter');
  if (select.options.length === 1) for (const s of Object.keys(state.statuses)) select.append(el('option', { value: s }, s));
  select.value = state.filter;
  renderCounts();
  await loadServers();
  // From the counts' moment: replayed transitions bring rows and counts up to date without double counting.
  subscribe(summary.last_event_id);
}

$('#status-filter').addEventListener('change', (e) => void setFilter(e.target.value));
$('#login').addEventListener('submit', (e) => void login(e));
$('#login-open').addEventListener('click', () => showLogin());
if (state.token) $('#who').textContent = 'signed in';
start().catch((e) => console.warn(e));

// The console's shell: hash routes, the token prompt, live refresh.
// Routes: #/incidents, #/incident/ID, #/alerts, #/silences, #/actions.
import { ApiError, setToken, token } from './api.js';
import { clear, errorBox, h } from './dom.js';
import { mountIncidents } from './incidents.js';
import { mountIncident } from './incident.js';
import { mountAlerts } from './alerts.js';
import { mountSilences } from './silences.js';
import { mountActions } from './actions.js';

const REFRESH_MS = 5000;
const view = document.getElementById('view');
const live = document.getElementById('live');
let current = null;
let timer = null;
let liveOn = true;

const routes = [
	[/^#\/incidents$/, 'incidents', mountIncidents],
	[/^#\/incident\/([^/]+)$/, 'incidents', mountIncident],
	[/^#\/alerts$/, 'alerts', mountAlerts],
	[/^#\/silences$/, 'silences', mountSilences],
	[/^#\/actions$/, 'actions', mountActions],
];

const app = {
	// Called by views when a request failed: a 401 asks for the token.
	failed(err, box) {
		if (err instanceof ApiError && err.status === 401) {
			askToken(token() ? 'The token was refused. Enter the correlator\'s bearer token.' : null);
			return;
		}
		if (box) clear(box).appendChild(errorBox(err));
	},
	go(hash) {
		location.hash = hash;
	},
};

function route() {
	const hash = location.hash || '#/incidents';
	if (current && current.stop) current.stop();
	current = null;
	clear(view);
	for (const [re, nav, mount] of routes) {
		const m = hash.match(re);
		if (!m) continue;
		for (const a of document.querySelectorAll('[data-nav]'))
			a.classList.toggle('active', a.dataset.nav === nav);
		current = mount(view, m.slice(1).map(decodeURIComponent), app);
		return;
	}
	view.appendChild(errorBox(`No page here (${hash}).`));
}

async function refresh() {
	if (!current || !current.refresh) return;
	live.classList.add('busy');
	try {
		await current.refresh();
		live.title = `Live refresh every ${REFRESH_MS / 1000} s; last ${new Date().toLocaleTimeString()}`;
	} finally {
		live.classList.remove('busy');
	}
}

function setLive(on) {
	liveOn = on;
	live.textContent = on ? '● live' : '❚❚ paused';
	live.classList.toggle('off', !on);
	clearInterval(timer);
	if (on)
		timer = setInterval(() => {
			if (document.visibilityState === 'visible') refresh();
		}, REFRESH_MS);
}

// The token prompt: a modal form. An empty token clears it (a correlator
// without a token needs none).
function askToken(reason) {
	if (document.getElementById('token-dialog')) return;
	const input = h('input', { type: 'password', id: 'token-input', autocomplete: 'off',
		placeholder: 'bearer token', value: token() });
	const close = () => dialog.remove();
	const dialog = h('div', { class: 'modal', id: 'token-dialog', role: 'dialog', 'aria-modal': 'true' },
		h('form', {
			class: 'card',
			onsubmit: (e) => {
				e.preventDefault();
				setToken(input.value.trim());
				close();
				route();
			},
		},
		h('h2', {}, 'Correlator token'),
		h('p', {}, reason || 'The API needs the correlator\'s bearer token (seismo.token_file in its config).'),
		h('p', { class: 'muted' }, 'It is kept in this tab only (sessionStorage) and sent as Authorization: Bearer.'),
		input,
		h('div', { class: 'row' },
			h('button', { type: 'submit', id: 'token-save' }, 'Use token'),
			h('button', { type: 'button', class: 'secondary', onclick: () => { setToken(''); close(); route(); } }, 'Forget token'),
			h('button', { type: 'button', class: 'secondary', onclick: close }, 'Cancel'))));
	document.body.appendChild(dialog);
	input.focus();
}

document.getElementById('token-button').addEventListener('click', () => askToken());
live.addEventListener('click', () => setLive(!liveOn));
window.addEventListener('hashchange', route);
setLive(true);
route();

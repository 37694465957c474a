// Silences: list (active, pending, expired), expire, and the form that
// creates one (also opened from an incident with its matchers filled in).
import { api } from './api.js';
import { badge, clear, clock, duration, empty, h, parseTime } from './dom.js';

// Matchers as Alertmanager and amtool write them:
//   alertname="SeismoIncident", service=~"api|web", team!="db"
export function parseMatchers(text) {
	const out = [];
	const re = /\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*(,|$)/y;
	let pos = 0;
	const src = text.trim();
	while (pos < src.length) {
		re.lastIndex = pos;
		const m = re.exec(src);
		if (!m || m[0] === '') throw new Error(`matchers: cannot read "${src.slice(pos, pos + 30)}" (write name="value", name=~"regex", name!="value")`);
		const value = m[3] !== undefined ? m[3].replace(/\\(.)/g, '$1') : m[4];
		out.push({ name: m[1], value, isRegex: m[2].includes('~'), isEqual: !m[2].startsWith('!') });
		pos = re.lastIndex;
	}
	if (!out.length) throw new Error('matchers: at least one is needed');
	return out;
}

export function formatMatchers(ms) {
	return (ms || []).map((m) => {
		const op = m.isRegex ? (m.isEqual === false ? '!~' : '=~') : (m.isEqual === false ? '!=' : '=');
		return `${m.name}${op}"${m.value}"`;
	}).join(', ');
}

export function parseDuration(text) {
	const m = String(text).trim().match(/^(\d+(?:\.\d+)?)\s*(m|h|d|w)$/);
	if (!m) throw new Error(`duration: "${text}" is not like 30m, 2h, 1d or 1w`);
	return +m[1] * { m: 60e3, h: 3600e3, d: 86400e3, w: 604800e3 }[m[2]];
}

export function silenceForm(prefill, app, onCreated, onCancel) {
	const err = h('div', { class: 'status' });
	const matchers = h('input', { id: 'silence-matchers', value: prefill.matchers || '', required: true });
	const dur = h('input', { id: 'silence-duration', value: prefill.duration || '2h', size: 6 });
	const by = h('input', { id: 'silence-by', value: localStorage.getItem('seismo.user') || '', placeholder: 'your name', required: true });
	const comment = h('input', { id: 'silence-comment', value: prefill.comment || '', required: true });
	const form = h('form', {
		class: 'card silence-form',
		onsubmit: async (e) => {
			e.preventDefault();
			clear(err);
			let body;
			try {
				const now = Date.now();
				body = {
					matchers: parseMatchers(matchers.value),
					startsAt: new Date(now).toISOString(),
					endsAt: new Date(now + parseDuration(dur.value)).toISOString(),
					createdBy: by.value.trim(),
					comment: comment.value.trim(),
				};
				if (!body.createdBy) throw new Error('created by: say who you are');
			} catch (ex) {
				app.failed(ex, err);
				return;
			}
			try {
				localStorage.setItem('seismo.user', body.createdBy);
			} catch { /* no storage: asked again next time */ }
			try {
				const r = await api('POST', '/api/v1/silences', body);
				onCreated(r.id);
			} catch (ex) {
				app.failed(ex, err);
			}
		},
	},
	h('h2', {}, 'New silence'),
	h('label', {}, 'Matchers', matchers),
	h('div', { class: 'row' }, h('label', {}, 'Duration', dur), h('label', { class: 'grow' }, 'Created by', by)),
	h('label', {}, 'Comment', comment),
	err,
	h('div', { class: 'row' },
		h('button', { type: 'submit', id: 'silence-submit' }, 'Create silence'),
		onCancel ? h('button', { type: 'button', class: 'secondary', onclick: onCancel }, 'Cancel') : null));
	return form;
}

export function mountSilences(root, _params, app) {
	const status = h('div', { class: 'status' });
	const formBox = h('div', {});
	const list = h('div', { id: 'silence-list' });
	let showExpired = false;
	root.append(
		h('div', { class: 'toolbar' }, h('h1', {}, 'Silences'),
			h('div', { class: 'filters' },
				h('label', { class: 'check' }, h('input', { type: 'checkbox', onchange: (e) => { showExpired = e.target.checked; load(); } }), 'show expired'),
				h('button', { type: 'button', id: 'new-silence', onclick: openForm }, 'New silence'))),
		formBox, status, list);

	function openForm() {
		if (formBox.firstChild) return;
		formBox.appendChild(silenceForm({}, app, () => { clear(formBox); load(); }, () => clear(formBox)));
	}

	async function load() {
		let data;
		try {
			data = await api('GET', '/api/v1/silences');
		} catch (err) {
			app.failed(err, status);
			return;
		}
		clear(status);
		const rows = data.filter((x) => showExpired || (x.status && x.status.state) !== 'expired')
			.sort((a, b) => (parseTime(b.startsAt) || 0) - (parseTime(a.startsAt) || 0));
		clear(list);
		if (!rows.length) {
			list.appendChild(empty(data.length ? 'No active or pending silence.' : 'No silences.',
				'Create one here or from an incident; amtool and Alertmanager clients can too (/api/v2/silences).'));
			return;
		}
		list.appendChild(h('div', { class: 'cards' }, rows.map((x) => {
			const state = (x.status && x.status.state) || '?';
			return h('div', { class: `card silence ${state}`, dataset: { id: x.id } },
				h('div', { class: 'row' }, badge(state), h('code', {}, x.id)),
				h('div', { class: 'matchers' }, formatMatchers(x.matchers)),
				h('div', { class: 'muted small' }, `${clock(x.startsAt)} → ${clock(x.endsAt)}`,
					state === 'active' ? ` (ends in ${duration(parseTime(x.endsAt) - Date.now())})` : ''),
				h('div', {}, h('strong', {}, x.createdBy || '?'), ': ', x.comment || ''),
				state !== 'expired' ? h('button', { type: 'button', class: 'danger expire', onclick: async (e) => {
					e.target.disabled = true;
					try {
						await api('DELETE', `/api/v1/silences/${encodeURIComponent(x.id)}`);
						load();
					} catch (err) {
						e.target.disabled = false;
						app.failed(err, status);
					}
				} }, 'Expire') : null);
		})));
	}
	load();
	return { refresh: load };
}

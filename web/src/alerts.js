// Alerts as the dispatcher holds them (/api/v2/alerts, Alertmanager's
// shape): active or suppressed, and what silences or inhibits each.
import { api } from './api.js';
import { ago, badge, clear, empty, h, labelChips } from './dom.js';

export function mountAlerts(root, _params, app) {
	const status = h('div', { class: 'status' });
	const list = h('div', { id: 'alert-list' });
	let filter = '';
	const sel = h('select', { id: 'filter-alert-state', onchange: (e) => { filter = e.target.value; load(); } },
		h('option', { value: '' }, 'All'), h('option', { value: 'active' }, 'Active'),
		h('option', { value: 'suppressed' }, 'Suppressed'));
	root.append(h('div', { class: 'toolbar' }, h('h1', {}, 'Alerts'), h('div', { class: 'filters' }, sel)), status, list);

	async function load() {
		let data;
		try {
			data = await api('GET', '/api/v2/alerts');
		} catch (err) {
			app.failed(err, status);
			return;
		}
		clear(status);
		const byFp = new Map(data.map((a) => [a.fingerprint, a]));
		const rows = data.filter((a) => a.status && a.status.state !== 'unprocessed' && (!filter || a.status.state === filter));
		clear(list);
		if (!rows.length) {
			list.appendChild(empty(data.length ? 'No alert in this state.' : 'No alerts.',
				'Each incident is one SeismoIncident alert; Prometheus or Alertmanager can post more to /api/v2/alerts.'));
			return;
		}
		list.appendChild(h('div', { class: 'cards' }, rows.map((a) => {
			const l = a.labels || {};
			const st = a.status || {};
			const why = [];
			for (const sid of st.silencedBy || [])
				why.push(h('div', { class: 'why' }, 'silenced by ', h('a', { href: '#/silences' }, h('code', {}, sid))));
			for (const fp of st.inhibitedBy || []) {
				const src = byFp.get(fp);
				why.push(h('div', { class: 'why' }, 'inhibited by ',
					src ? `${src.labels.alertname || 'alert'}${src.labels.service ? ` (${src.labels.service})` : ''} ` : '',
					h('code', {}, fp)));
			}
			return h('div', { class: `card alert ${st.state}`, dataset: { fingerprint: a.fingerprint } },
				h('div', { class: 'row' }, badge(st.state), l.severity ? badge(l.severity) : null,
					h('strong', {}, l.alertname || '(no alertname)'),
					l.incident ? h('a', { href: `#/incident/${encodeURIComponent(l.incident)}` }, `incident ${l.incident}`) : null,
					h('span', { class: 'muted' }, `since ${ago(a.startsAt)}`)),
				a.annotations && a.annotations.summary ? h('div', {}, a.annotations.summary) : null,
				labelChips(l), why);
		})));
	}
	load();
	return { refresh: load };
}

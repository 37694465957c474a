// The incidents list: firing and resolved, filtered by state, severity and
// text (service, node, id), refreshed live.
import { api } from './api.js';
import { ago, badge, clear, duration, empty, h, parseTime } from './dom.js';

const filters = { state: 'firing', severity: '', text: '' };

export function mountIncidents(root, _params, app) {
	const status = h('div', { class: 'status' });
	const list = h('div', { id: 'incident-list' });
	let data = null;
	const select = (key, options) =>
		h('select', { id: `filter-${key}`, onchange: (e) => { filters[key] = e.target.value; load(); } },
			options.map(([v, t]) => {
				const o = h('option', { value: v }, t);
				if (filters[key] === v) o.selected = true;
				return o;
			}));
	root.append(
		h('div', { class: 'toolbar' },
			h('h1', {}, 'Incidents'),
			h('div', { class: 'filters' },
				select('state', [['firing', 'Firing'], ['resolved', 'Resolved'], ['', 'All']]),
				select('severity', [['', 'Any severity'], ['critical', 'Critical'], ['warning', 'Warning']]),
				h('input', { type: 'search', id: 'filter-text', placeholder: 'service, node or id',
					value: filters.text, oninput: (e) => { filters.text = e.target.value; show(); } }))),
		status, list);

	async function load() {
		const q = new URLSearchParams({ limit: '500' });
		if (filters.state) q.set('state', filters.state);
		try {
			data = await api('GET', `/api/v1/incidents?${q}`);
			clear(status);
			show();
		} catch (err) {
			app.failed(err, status);
		}
	}

	function show() {
		if (!data) return;
		const text = filters.text.trim().toLowerCase();
		const rows = data.filter((i) => {
			if (filters.severity && i.severity !== filters.severity) return false;
			if (!text) return true;
			const br = i.blast_radius || {};
			return [i.id, ...(br.service_names || []), ...(br.node_names || [])]
				.some((s) => String(s).toLowerCase().includes(text));
		});
		clear(list);
		if (!rows.length) {
			list.appendChild(data.length
				? empty('No incident matches these filters.', 'Change the state, severity or text above.')
				: empty(filters.state === 'firing' ? 'Nothing is firing.' : 'No incidents.',
					'Incidents appear here when agents report anomalies of connected services.'));
			return;
		}
		list.appendChild(h('table', { class: 'incidents' },
			h('thead', {}, h('tr', {}, ['State', 'Severity', 'Root cause', 'Services', 'Nodes', 'Age', 'Duration', 'Incident']
				.map((t) => h('th', {}, t)))),
			h('tbody', {}, rows.map(row))));
	}

	function row(i) {
		const br = i.blast_radius || {};
		const rc = (i.root_causes || [])[0];
		const start = parseTime(i.starts_at), end = parseTime(i.ends_at);
		const go = () => app.go(`#/incident/${encodeURIComponent(i.id)}`);
		return h('tr', { class: `incident ${i.state}`, dataset: { id: i.id }, onclick: go, tabindex: '0',
			onkeydown: (e) => { if (e.key === 'Enter') go(); } },
		h('td', { 'data-label': 'State' }, badge(i.state)),
		h('td', { 'data-label': 'Severity' }, badge(i.severity)),
		h('td', { 'data-label': 'Root cause', class: 'root-cause' }, rc ? rc.service : '–',
			(i.root_causes || []).length > 1 ? h('span', { class: 'muted' }, ` +${i.root_causes.length - 1}`) : null),
		h('td', { 'data-label': 'Services', class: 'wrap' }, (br.service_names || []).join(', ') || '–'),
		h('td', { 'data-label': 'Nodes', class: 'wrap' }, (br.node_names || []).join(', ') || '–'),
		h('td', { 'data-label': 'Age' }, ago(i.starts_at)),
		h('td', { 'data-label': 'Duration' }, duration((end ?? Date.now()) - start)),
		h('td', { 'data-label': 'Incident' }, h('a', { href: `#/incident/${encodeURIComponent(i.id)}` }, i.id)));
	}

	load();
	return { refresh: load };
}

// One incident: summary, ranked root causes, the topology graph, the
// timeline of its anomalies and events (value vs baseline, kernel
// exemplars), its silence and its remediation actions.
import { api } from './api.js';
import { ago, badge, clear, clock, duration, empty, h, keepOpen, metricValue, parseTime } from './dom.js';
import { drawGraph, graphKey, incidentGraph } from './graph.js';
import { silenceForm } from './silences.js';
import { incidentActions } from './actions.js';

const SVG = 'http://www.w3.org/2000/svg';
function s(tag, attrs, ...kids) {
	const el = document.createElementNS(SVG, tag);
	for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
	for (const k of kids) if (k) el.appendChild(typeof k === 'string' ? document.createTextNode(k) : k);
	return el;
}

export function mountIncident(root, [id], app) {
	const status = h('div', { class: 'status' });
	const head = h('div', { class: 'incident-head' });
	const causes = h('div', { class: 'card', id: 'root-causes' });
	const graphBox = h('div', { class: 'graph', id: 'graph', 'aria-label': 'service topology of the incident' });
	const legend = h('div', { class: 'legend' },
		h('span', { class: 'dot candidate' }), 'root-cause candidate (#rank)',
		h('span', { class: 'dot explained' }), 'explained by a dependency',
		h('span', { class: 'line anomalous' }), 'anomalous call');
	const timeline = h('div', { class: 'card', id: 'timeline' });
	const events = h('div', { class: 'card', id: 'events' });
	const silenceBox = h('div', { id: 'silence-box' });
	const actionsBox = h('div', { class: 'card', id: 'incident-actions' });
	let cy = null, key = null, inc = null, silencing = false;

	root.append(
		h('p', {}, h('a', { href: '#/incidents' }, '← Incidents')),
		status, head, silenceBox,
		h('div', { class: 'split' },
			h('div', { class: 'card graph-card' }, h('h2', {}, 'Service topology'), graphBox, legend),
			causes),
		timeline, events, actionsBox);

	async function load() {
		try {
			inc = await api('GET', `/api/v1/incidents/${encodeURIComponent(id)}`);
		} catch (err) {
			if (err.status === 404) {
				clear(root).append(h('p', {}, h('a', { href: '#/incidents' }, '← Incidents')),
					empty(`No incident ${id}.`, 'It may have merged into another incident, or the store was wiped.'));
				return;
			}
			app.failed(err, status);
			return;
		}
		clear(status);
		await keepOpen(root, async () => {
			showHead();
			showCauses();
			showGraph();
			showTimeline();
			showEvents();
			await incidentActions(actionsBox, id, app);
		});
	}

	function showHead() {
		const br = inc.blast_radius || {};
		const start = parseTime(inc.starts_at), end = parseTime(inc.ends_at);
		clear(head).append(
			h('h1', {}, 'Incident ', h('code', {}, inc.id), ' ', badge(inc.state), ' ', badge(inc.severity)),
			h('dl', { class: 'facts' },
				h('dt', {}, 'Started'), h('dd', {}, `${clock(inc.starts_at)} (${ago(inc.starts_at)} ago)`),
				h('dt', {}, inc.state === 'resolved' ? 'Resolved' : 'Lasting'),
				h('dd', {}, inc.state === 'resolved' ? `${clock(inc.ends_at)} after ${duration(end - start)}` : duration(Date.now() - start)),
				h('dt', {}, 'Services'), h('dd', {}, `${br.services ?? 0}: ${(br.service_names || []).join(', ')}`),
				h('dt', {}, 'Nodes'), h('dd', {}, `${br.nodes ?? 0}: ${(br.node_names || []).join(', ')}`),
				h('dt', {}, 'Anomalies / events'), h('dd', {}, `${inc.anomalies ?? 0} / ${inc.events ?? 0}`)),
			h('div', { class: 'row' },
				h('button', { type: 'button', id: 'silence-incident', onclick: openSilence }, 'Silence this incident')));
	}

	function openSilence() {
		if (silencing) return;
		silencing = true;
		const rc = (inc.root_causes || [])[0];
		silenceBox.appendChild(silenceForm({
			matchers: `alertname="SeismoIncident", incident="${inc.id}"`,
			comment: `incident ${inc.id}${rc ? `, root cause ${rc.service}` : ''}`,
		}, app, (sid) => {
			silencing = false;
			clear(silenceBox).appendChild(h('div', { class: 'notice', id: 'silence-created' },
				'Silence ', h('code', {}, sid), ' created. ', h('a', { href: '#/silences' }, 'See silences')));
		}, () => { silencing = false; clear(silenceBox); }));
	}

	function showCauses() {
		const list = inc.root_causes || [];
		clear(causes).append(h('h2', {}, 'Root-cause candidates'),
			list.length ? h('ol', { class: 'causes' }, list.map((c) => h('li', { dataset: { service: c.service, rank: c.rank } },
				h('strong', {}, c.service),
				h('span', { class: 'muted' }, ` score ${Number(c.score).toFixed(1)}, onset ${clock(c.onset)}`),
				c.explained_by_dependency ? h('span', { class: 'muted' }, ' (also explained by a dependency)') : null)))
				: empty('No candidate yet.'),
			h('p', { class: 'muted small' }, 'Anomalous services that no anomalous dependency explains, ranked by the strongest robust z-score, then the earlier onset.'));
	}

	function showGraph() {
		const model = incidentGraph(inc);
		const k = graphKey(model);
		if (k === key && cy) return;
		key = k;
		if (cy) cy.destroy();
		clear(graphBox);
		if (!model.nodes.length) {
			graphBox.appendChild(empty('No services to draw.'));
			return;
		}
		cy = drawGraph(graphBox, model);
		// For tests and for poking at it from the browser's console.
		window.seismoConsole = { graph: cy, incident: inc };
	}

	function showTimeline() {
		const an = inc.anomaly_list || [];
		clear(timeline).appendChild(h('h2', {}, 'Timeline'));
		if (!an.length) {
			timeline.appendChild(empty('No anomalies recorded.'));
			return;
		}
		const now = Date.now();
		const t0 = Math.min(...an.map((a) => parseTime(a.starts_at)));
		const t1 = Math.max(now, ...an.map((a) => parseTime(a.ends_at) || now));
		const W = 1000, rowH = 26, left = 180, top = 22;
		const x = (t) => left + ((t - t0) / Math.max(1, t1 - t0)) * (W - left - 10);
		const svg = s('svg', { viewBox: `0 0 ${W} ${top + rowH * an.length + 6}`, class: 'gantt', role: 'img',
			'aria-label': 'anomalies over time' });
		svg.appendChild(s('text', { x: left, y: 14, class: 'axis' }, clock(new Date(t0).toISOString())));
		svg.appendChild(s('text', { x: W - 10, y: 14, class: 'axis', 'text-anchor': 'end' }, clock(new Date(t1).toISOString())));
		an.slice().sort((a, b) => parseTime(a.starts_at) - parseTime(b.starts_at)).forEach((a, i) => {
			const y = top + i * rowH;
			const a0 = parseTime(a.starts_at), a1 = parseTime(a.ends_at);
			svg.appendChild(s('text', { x: 4, y: y + 16, class: 'lbl' }, a.service));
			svg.appendChild(s('rect', { x: x(a0), y: y + 4, width: Math.max(3, x(a1 || now) - x(a0)), height: rowH - 8,
				rx: 3, class: `bar ${a.severity} ${a1 ? 'ended' : 'open'}` },
			s('title', {}, `${a.service} on ${a.node}: ${a.severity}, score ${Number(a.score).toFixed(1)}, ${clock(a.starts_at)} → ${a1 ? clock(a.ends_at) : 'now'}`)));
			for (const ev of inc.event_list || []) {
				if (ev.anomaly_id !== a.anomaly_id) continue;
				const t = parseTime(ev.observed_at);
				if (t !== null) svg.appendChild(s('circle', { cx: x(t), cy: y + rowH / 2, r: 4, class: `mark ${ev.state}` }));
			}
		});
		timeline.appendChild(svg);
	}

	function showEvents() {
		const list = (inc.event_list || []).slice().sort((a, b) => parseTime(a.observed_at) - parseTime(b.observed_at));
		clear(events).appendChild(h('h2', {}, 'Events'));
		if (!list.length) {
			events.appendChild(empty('No events stored for this incident.'));
			return;
		}
		events.appendChild(h('div', { class: 'event-list' }, list.map(eventCard)));
	}

	function eventCard(ev) {
		const b = ev.baseline || {};
		const ex = ev.exemplars || [];
		return h('div', { class: `event ${ev.state}`, dataset: { service: ev.service } },
			h('div', { class: 'event-head' },
				h('span', { class: 'time' }, clock(ev.observed_at)), ' ',
				badge(ev.state), ' ', badge(ev.severity), ' ',
				h('strong', {}, ev.service), ' ', h('code', {}, ev.metric),
				ev.labels && ev.labels.node ? h('span', { class: 'muted' }, ` on ${ev.labels.node}`) : null),
			h('div', { class: 'baseline' },
				h('span', { class: 'value' }, metricValue(ev.metric, ev.value)),
				h('span', { class: 'muted' }, ` vs baseline ${metricValue(ev.metric, b.expected)} ± ${metricValue(ev.metric, b.spread)}`),
				h('span', { class: 'muted' }, ` · score ${Number(ev.score).toFixed(1)} (threshold ${ev.threshold ?? '–'})`),
				baselineBar(ev)),
			(ev.dependencies || []).length ? h('div', { class: 'deps small' }, 'anomalous dependencies: ',
				ev.dependencies.map((d) => `${d.service || d.endpoint} (${metricValue(d.metric, d.value)} vs ${metricValue(d.metric, d.expected)})`).join(', ')) : null,
			ex.length ? h('details', { class: 'exemplars', dataset: { key: `ex-${ev.id}` } },
				h('summary', {}, `${ex.length} kernel exemplar${ex.length > 1 ? 's' : ''}`),
				h('div', { class: 'scroll' }, h('table', {},
					h('thead', {}, h('tr', {}, ['Time', 'Latency', 'Process', 'Local', 'Remote', 'Method', 'Path', 'Status'].map((t) => h('th', {}, t)))),
					h('tbody', {}, ex.map((x) => h('tr', {},
						h('td', {}, clock(x.time)),
						h('td', {}, metricValue('latency', x.latency_seconds)),
						h('td', {}, `${x.comm ?? '?'}${x.pid !== undefined ? ` (${x.pid})` : ''}`),
						h('td', {}, x.local ?? '–'), h('td', {}, x.remote ?? '–'),
						h('td', {}, x.method ?? '–'), h('td', { class: 'wrap' }, x.path ?? '–'),
						h('td', {}, x.status ?? '–')))))))
				: h('div', { class: 'muted small' }, 'no kernel exemplars in this event'));
	}

	// Value against the baseline's band (expected ± spread) on one scale.
	function baselineBar(ev) {
		const b = ev.baseline || {};
		if (![ev.value, b.expected].every(Number.isFinite)) return null;
		const spread = Number.isFinite(b.spread) ? b.spread : 0;
		const max = Math.max(ev.value, b.expected + 3 * spread) * 1.1 || 1;
		const px = (v) => Math.max(0, Math.min(300, (v / max) * 300));
		return s('svg', { viewBox: '0 0 300 14', class: 'bbar', role: 'img', 'aria-label': 'value vs baseline' },
			s('rect', { x: 0, y: 5, width: 300, height: 4, class: 'track' }),
			s('rect', { x: px(b.expected - spread), y: 2, width: Math.max(2, px(b.expected + spread) - px(b.expected - spread)), height: 10, class: 'band' }),
			s('rect', { x: px(b.expected) - 1, y: 0, width: 2, height: 14, class: 'expected' }),
			s('circle', { cx: px(ev.value), cy: 7, r: 5, class: `val ${ev.state}` }));
	}

	load();
	return {
		refresh: load,
		stop() { if (cy) cy.destroy(); },
	};
}

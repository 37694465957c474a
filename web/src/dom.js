// DOM helpers. Everything from the API is put in the page as text nodes
// (never innerHTML): service names, paths and labels come from the network.
export function h(tag, attrs, ...kids) {
	const el = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs || {})) {
		if (v === undefined || v === null || v === false) continue;
		if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
		else if (k === 'class') el.className = v;
		else if (k === 'dataset') Object.assign(el.dataset, v);
		else if (k === 'value') el.value = v;
		else el.setAttribute(k, v === true ? '' : String(v));
	}
	append(el, kids);
	return el;
}

function append(el, kids) {
	for (const k of kids) {
		if (k === null || k === undefined || k === false) continue;
		if (Array.isArray(k)) append(el, k);
		else if (k instanceof Node) el.appendChild(k);
		else el.appendChild(document.createTextNode(String(k)));
	}
}

export function clear(el) {
	while (el.firstChild) el.removeChild(el.firstChild);
	return el;
}

// Alertmanager's "no time" is year 1.
export function parseTime(iso) {
	if (!iso || iso.startsWith('0001-')) return null;
	const t = Date.parse(iso);
	return Number.isFinite(t) ? t : null;
}

export function duration(ms) {
	if (ms === null || !Number.isFinite(ms)) return '–';
	const s = Math.max(0, Math.round(ms / 1000));
	if (s < 60) return `${s}s`;
	const m = Math.floor(s / 60);
	if (m < 60) return `${m}m ${s % 60}s`;
	const hh = Math.floor(m / 60);
	if (hh < 48) return `${hh}h ${m % 60}m`;
	return `${Math.floor(hh / 24)}d ${hh % 24}h`;
}

export function ago(iso) {
	const t = parseTime(iso);
	return t === null ? '–' : duration(Date.now() - t);
}

export function clock(iso) {
	const t = parseTime(iso);
	if (t === null) return '–';
	const d = new Date(t);
	const p = (n) => String(n).padStart(2, '0');
	return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

// A metric's value in its unit (docs/event-schema.md: seconds, per second, ratio).
export function metricValue(metric, v) {
	if (typeof v !== 'number' || !Number.isFinite(v)) return '–';
	if (metric && metric.startsWith('latency')) {
		if (Math.abs(v) < 1e-3) return `${(v * 1e6).toFixed(0)} µs`;
		if (Math.abs(v) < 1) return `${(v * 1e3).toFixed(v < 0.01 ? 2 : 1)} ms`;
		return `${v.toFixed(2)} s`;
	}
	if (metric === 'error_ratio') return `${(v * 100).toFixed(2)} %`;
	if (metric === 'request_rate') return `${v.toFixed(1)}/s`;
	return String(+v.toPrecision(4));
}

export function badge(text, kind) {
	return h('span', { class: `badge ${kind || text}` }, text);
}

export function empty(title, detail) {
	return h('div', { class: 'empty' }, h('strong', {}, title), detail ? h('p', {}, detail) : null);
}

export function errorBox(err) {
	return h('div', { class: 'error', role: 'alert' }, err && err.message ? err.message : String(err));
}

export function labelChips(labels) {
	return h('span', { class: 'chips' },
		Object.entries(labels || {}).map(([k, v]) => h('span', { class: 'chip' }, `${k}=${v}`)));
}

// Live refresh rebuilds parts of a page: <details data-key=...> that the
// person opened stay open across it.
export async function keepOpen(root, render) {
	const open = new Set([...root.querySelectorAll('details[open][data-key]')].map((d) => d.dataset.key));
	await render();
	for (const d of root.querySelectorAll('details[data-key]'))
		if (open.has(d.dataset.key)) d.open = true;
}

// Remediation actions (runbooks, docs/runbooks.md): proposed, waiting for
// approval (approve/deny), ran, verified; and the kill switch. A
// correlator without runbooks answers 404 on /api/v1/actions: the panel
// says so instead of showing an error.
import { api } from './api.js';
import { badge, clear, clock, empty, h } from './dom.js';

const NOT_CONFIGURED = () => empty('Runbooks are not configured on this correlator.',
	'Remediation actions appear here once the correlator config has runbooks (docs/runbooks.md).');

async function fetchActions() {
	try {
		return await api('GET', '/api/v1/actions');
	} catch (err) {
		if (err.status === 404) return null;
		throw err;
	}
}

function actionsOf(data) {
	if (!data) return [];
	return Array.isArray(data) ? data : data.actions || [];
}

function who() {
	let name = '';
	try {
		name = localStorage.getItem('seismo.user') || '';
	} catch { /* no storage */ }
	return name;
}

function actionCard(a, app, after, status) {
	const state = a.state || a.status || '?';
	const decide = (verb) => async (e) => {
		const by = who() || window.prompt('Your name (kept in the audit log)') || '';
		if (!by) return;
		try { localStorage.setItem('seismo.user', by); } catch { /* no storage */ }
		e.target.disabled = true;
		try {
			await api('POST', `/api/v1/actions/${encodeURIComponent(a.id)}/${verb}`, { by });
			after();
		} catch (err) {
			e.target.disabled = false;
			app.failed(err, status);
		}
	};
	const waiting = state === 'pending' || state === 'waiting' || state === 'awaiting_approval';
	return h('div', { class: `card action ${state}`, dataset: { id: a.id } },
		h('div', { class: 'row' }, badge(state, `action-${state}`), h('strong', {}, a.runbook || '(runbook)'),
			a.kind ? h('code', {}, a.kind) : null, a.mode ? h('span', { class: 'muted' }, a.mode) : null,
			a.incident ? h('a', { href: `#/incident/${encodeURIComponent(a.incident)}` }, `incident ${a.incident}`) : null),
		a.target ? h('div', {}, 'target: ', h('code', {}, typeof a.target === 'string' ? a.target : JSON.stringify(a.target))) : null,
		h('div', { class: 'muted small' }, [
			a.created_at ? `proposed ${clock(a.created_at)}` : null,
			a.decided_by ? `${state} by ${a.decided_by}` : null,
			a.ran_at ? `ran ${clock(a.ran_at)}` : null,
			a.verified !== undefined && a.verified !== null ? (a.verified ? 'verified: the incident resolved' : 'not verified') : null,
		].filter(Boolean).join(' · ')),
		a.output ? h('details', {}, h('summary', {}, 'output'), h('pre', {}, String(a.output))) : null,
		waiting ? h('div', { class: 'row' },
			h('button', { type: 'button', class: 'approve', onclick: decide('approve') }, 'Approve'),
			h('button', { type: 'button', class: 'danger deny', onclick: decide('deny') }, 'Deny')) : null);
}

// The actions of one incident, inside its page.
export async function incidentActions(box, id, app) {
	let data;
	try {
		data = await fetchActions();
	} catch (err) {
		clear(box).append(h('h2', {}, 'Remediation'));
		app.failed(err, box);
		return;
	}
	const list = actionsOf(data).filter((a) => a.incident === id);
	clear(box).append(h('h2', {}, 'Remediation'),
		data === null ? NOT_CONFIGURED()
			: list.length ? list.map((a) => actionCard(a, app, () => incidentActions(box, id, app), box))
				: empty('No remediation action for this incident.', 'No runbook matched it, or its actions are still to come.'));
}

export function mountActions(root, _params, app) {
	const status = h('div', { class: 'status' });
	const kill = h('div', { id: 'kill-switch' });
	const list = h('div', { id: 'action-list' });
	root.append(h('div', { class: 'toolbar' }, h('h1', {}, 'Remediation actions')), status, kill, list);

	async function load() {
		let data;
		try {
			data = await fetchActions();
		} catch (err) {
			app.failed(err, status);
			return;
		}
		clear(status);
		clear(kill);
		clear(list);
		if (data === null) {
			list.appendChild(NOT_CONFIGURED());
			return;
		}
		const items = actionsOf(data);
		list.appendChild(items.length ? h('div', { class: 'cards' }, items.map((a) => actionCard(a, app, load, status)))
			: empty('No remediation actions yet.', 'Actions appear when an incident matches a runbook.'));
	}
	load();
	return { refresh: load };
}

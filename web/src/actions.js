// Remediation actions (runbooks: docs/runbooks.md): the kill switch, the
// runbooks with their circuit breakers, and every action: suggested,
// waiting for approval (approve / deny), queued, running, done, verified.
// A correlator without runbook support answers 404 on /api/v1/actions: the
// panel says runbooks are not configured instead of showing an error.
import { api } from './api.js';
import { badge, clear, clock, empty, h, keepOpen } from './dom.js';

const notConfigured = () => empty('Runbooks are not configured on this correlator.',
	'Remediation actions appear here once its config has runbooks (docs/runbooks.md).');

// null when the correlator has no actions API (404).
async function get(path) {
	try {
		return await api('GET', path);
	} catch (err) {
		if (err.status === 404) return null;
		throw err;
	}
}

function whoAmI(verb) {
	let name = '';
	try {
		name = localStorage.getItem('seismo.user') || '';
	} catch { /* no storage */ }
	if (!name) name = (window.prompt(`Your name, for the audit log (${verb})`) || '').trim();
	if (name) {
		try { localStorage.setItem('seismo.user', name); } catch { /* no storage */ }
	}
	return name;
}

// Runs a POST from a button: disabled while it runs, errors into box.
function post(path, body, app, box, after) {
	return async (e) => {
		const b = body();
		if (!b) return;
		const btn = e.currentTarget;
		btn.disabled = true;
		try {
			await api('POST', path, b);
			after();
		} catch (err) {
			btn.disabled = false;
			app.failed(err, box);
		}
	};
}

const STATE_TEXT = {
	proposed: 'suggested', pending: 'waiting for approval', queued: 'approved, queued', running: 'running',
	succeeded: 'ran', failed: 'failed', skipped: 'skipped', denied: 'denied', expired: 'approval expired',
	cancelled: 'cancelled',
};
const STATE_KIND = {
	proposed: 'pending', pending: 'warning', queued: 'active', running: 'active', succeeded: 'resolved',
	failed: 'critical', skipped: 'suppressed', denied: 'suppressed', expired: 'critical',
	cancelled: 'suppressed',
};

function stepText(step) {
	if (!step || typeof step !== 'object') return String(step);
	const kind = step.kind || step.type || 'step';
	const rest = Object.entries(step).filter(([k]) => k !== 'kind' && k !== 'type' && k !== 'timeout_ms')
		.map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : v}`).join(' ');
	return `${kind} ${rest}`.trim();
}

function actionCard(a, app, after, box) {
	const v = a.verification || {};
	const verified = v.resolved === true ? 'verified: the incident resolved'
		: v.resolved === false ? 'not verified: the incident did not resolve in time'
			: a.state === 'succeeded' && v.deadline ? `verifying until ${clock(v.deadline)}` : null;
	const decide = (verb) => post(`/api/v1/actions/${encodeURIComponent(a.id)}/${verb}`, () => {
		const by = whoAmI(verb);
		return by ? { by } : null;
	}, app, box, after);
	return h('div', { class: `card action ${a.state}`, dataset: { id: a.id, state: a.state } },
		h('div', { class: 'row' },
			badge(STATE_TEXT[a.state] || a.state, STATE_KIND[a.state] || ''),
			h('strong', {}, a.runbook || '(runbook)'),
			a.mode ? h('span', { class: 'muted' }, `${a.mode} mode`) : null,
			a.dry_run ? badge('dry run', 'pending') : null,
			a.incident ? h('a', { href: `#/incident/${encodeURIComponent(a.incident)}` }, `incident ${a.incident}`) : null),
		a.target ? h('div', { class: 'small' }, 'target ', h('code', {}, a.target)) : null,
		(a.plan || []).length ? h('ol', { class: 'plan small' }, a.plan.map((s) => h('li', {}, h('code', {}, stepText(s))))) : null,
		h('div', { class: 'muted small' }, [
			a.created_at ? `proposed ${clock(a.created_at)}` : null,
			a.state === 'pending' && a.approval_expires_at ? `approval expires ${clock(a.approval_expires_at)}` : null,
			a.decided_by ? `decided by ${a.decided_by}${a.decided_at ? ` at ${clock(a.decided_at)}` : ''}` : null,
			a.started_at ? `started ${clock(a.started_at)}` : null,
			a.finished_at ? `finished ${clock(a.finished_at)}` : null,
		].filter(Boolean).join(' · ')),
		a.reason ? h('div', { class: 'small' }, a.reason) : null,
		a.comment ? h('div', { class: 'small' }, `“${a.comment}”`) : null,
		verified ? h('div', { class: `small verify ${v.resolved === false ? 'bad' : ''}` }, verified) : null,
		(a.results || []).length ? h('details', { dataset: { key: `res-${a.id}` } }, h('summary', {}, `${a.results.length} result${a.results.length > 1 ? 's' : ''}`),
			a.results.map((r) => h('div', { class: 'small' },
				badge(r.status || '?', r.status === 'ok' ? 'resolved' : r.status === 'failed' ? 'critical' : ''), ' ',
				r.kind ? h('code', {}, r.kind) : null,
				r.http_status ? ` HTTP ${r.http_status}` : '', r.exit_code !== undefined ? ` exit ${r.exit_code}` : '',
				r.error ? ` ${r.error}` : '',
				r.output ? h('pre', {}, String(r.output)) : null))) : null,
		a.state === 'pending' ? h('div', { class: 'row' },
			h('button', { type: 'button', class: 'approve', onclick: decide('approve') }, 'Approve'),
			h('button', { type: 'button', class: 'danger deny', onclick: decide('deny') }, 'Deny')) : null);
}

// The actions of one incident, on its page.
export async function incidentActions(box, id, app) {
	let data;
	try {
		data = await get(`/api/v1/actions?incident=${encodeURIComponent(id)}`);
	} catch (err) {
		clear(box).append(h('h2', {}, 'Remediation'));
		app.failed(err, box);
		return;
	}
	const list = data ? data.actions || [] : [];
	clear(box).append(h('h2', {}, 'Remediation'),
		data === null ? notConfigured()
			: list.length ? h('div', { class: 'cards' }, list.map((a) => actionCard(a, app, () => incidentActions(box, id, app), box)))
				: empty('No remediation action for this incident.', 'No runbook matched it.'),
		data && data.kill_switch && data.kill_switch.engaged
			? h('div', { class: 'error' }, 'The kill switch is engaged: no action runs. ', h('a', { href: '#/actions' }, 'Actions')) : null);
}

function killSwitchCard(k, app, box, after) {
	const on = !!k.engaged;
	const flip = post('/api/v1/actions/killswitch', () => {
		const by = whoAmI(on ? 'release the kill switch' : 'engage the kill switch');
		if (!by) return null;
		const reason = on ? '' : window.prompt('Why stop every action?') || '';
		return { engaged: !on, by, reason };
	}, app, box, after);
	return h('div', { class: `card killswitch ${on ? 'on' : 'off'}`, id: 'kill-switch-card', dataset: { engaged: on ? '1' : '0' } },
		h('div', { class: 'row' }, h('h2', {}, 'Kill switch'), badge(on ? 'engaged' : 'off', on ? 'critical' : 'resolved')),
		on ? h('div', {}, 'No action runs while it is engaged.',
			k.engaged_by_api ? ` Engaged by ${k.by || '?'}${k.since ? ` at ${clock(k.since)}` : ''}${k.reason ? `: ${k.reason}` : ''}.` : '',
			k.file_present ? h('div', { class: 'small' }, 'The file ', h('code', {}, k.file), ' is present: remove it to release.') : null)
			: h('div', { class: 'muted small' }, 'Actions run as their runbooks say.',
				k.file ? [' Creating ', h('code', {}, k.file), ' also engages it.'] : null),
		on && !k.engaged_by_api ? null
			: h('button', { type: 'button', id: 'kill-switch-toggle', class: on ? 'secondary' : 'danger', onclick: flip },
				on ? 'Release kill switch' : 'Engage kill switch: stop all actions'));
}

function runbooksCard(rbs, app, box, after) {
	if (!rbs.length) return empty('No runbooks in the correlator config.', 'Add runbooks: to its config (docs/runbooks.md).');
	return h('div', { class: 'card' }, h('h2', {}, 'Runbooks'), h('div', { class: 'scroll' }, h('table', {},
		h('thead', {}, h('tr', {}, ['Runbook', 'Mode', 'Matchers', 'State', 'Circuit breaker', ''].map((t) => h('th', {}, t)))),
		h('tbody', {}, rbs.map((r) => {
			const cb = r.circuit_breaker || {};
			return h('tr', { dataset: { runbook: r.name } },
				h('td', {}, h('strong', {}, r.name)), h('td', {}, r.mode),
				h('td', { class: 'wrap' }, h('code', {}, r.matchers || '')),
				h('td', {}, r.enabled ? (r.dry_run ? 'dry run' : 'enabled') : 'disabled'),
				h('td', {}, cb.open ? badge('open', 'critical') : badge('closed', 'resolved'),
					h('span', { class: 'muted small' }, ` ${cb.failures ?? 0} failed, ${cb.unresolved ?? 0} unresolved`)),
				h('td', {}, cb.open ? h('button', { type: 'button', class: 'secondary', onclick: post(`/api/v1/runbooks/${encodeURIComponent(r.name)}/reset`, () => {
					const by = whoAmI('reset the circuit breaker');
					return by ? { by } : null;
				}, app, box, after) }, 'Reset breaker') : null));
		})))));
}

export function mountActions(root, _params, app) {
	const status = h('div', { class: 'status' });
	const top = h('div', { id: 'kill-switch' });
	const list = h('div', { id: 'action-list' });
	let filter = 'open';
	const sel = h('select', { id: 'filter-action', onchange: (e) => { filter = e.target.value; load(); } },
		h('option', { value: 'open' }, 'Needing attention'), h('option', { value: '' }, 'All'));
	root.append(h('div', { class: 'toolbar' }, h('h1', {}, 'Remediation actions'), h('div', { class: 'filters' }, sel)),
		status, top, list);

	const load = () => keepOpen(root, render);
	async function render() {
		let data, rbs;
		try {
			data = await get('/api/v1/actions');
			rbs = data ? (await get('/api/v1/runbooks')) || [] : [];
		} catch (err) {
			app.failed(err, status);
			return;
		}
		clear(status);
		clear(top);
		clear(list);
		if (data === null) {
			list.appendChild(notConfigured());
			return;
		}
		top.append(killSwitchCard(data.kill_switch || {}, app, status, load),
			h('div', { class: 'muted small' }, `${data.running ?? 0} running, ${data.queued ?? 0} queued, at most ${data.max_concurrent ?? '?'} at once`),
			runbooksCard(rbs, app, status, load));
		const all = data.actions || [];
		// Waiting for a person first, then what is in flight, then the rest.
		const order = { pending: 0, running: 1, queued: 2, proposed: 3 };
		const shown = all.filter((a) => !filter || a.state in order || (a.verification && a.verification.resolved === false))
			.sort((x, y) => (order[x.state] ?? 9) - (order[y.state] ?? 9));
		list.appendChild(shown.length ? h('div', { class: 'cards' }, shown.map((a) => actionCard(a, app, load, status)))
			: empty(all.length ? 'Nothing needs attention.' : 'No remediation actions yet.',
				all.length ? 'Choose "All" to see what ran.' : 'Actions appear when an incident matches a runbook.'));
	}
	load();
	return { refresh: load };
}

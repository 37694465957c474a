// Talks to the correlator's API with the bearer token the person typed in.
// The token lives in sessionStorage: it survives reloads of this tab and is
// gone when the tab closes; it is never put in a URL or a cookie, so no
// other site can make the browser send it (no CSRF on approve/expire).
const KEY = 'seismo.token';

export function token() {
	try {
		return sessionStorage.getItem(KEY) || '';
	} catch {
		return '';
	}
}

export function setToken(t) {
	try {
		if (t) sessionStorage.setItem(KEY, t);
		else sessionStorage.removeItem(KEY);
	} catch {
		/* private mode without storage: the token is asked again */
	}
}

export class ApiError extends Error {
	constructor(status, message) {
		super(message);
		this.status = status;
	}
}

export async function api(method, path, body) {
	const headers = { Accept: 'application/json' };
	const t = token();
	if (t) headers.Authorization = 'Bearer ' + t;
	if (body !== undefined) headers['Content-Type'] = 'application/json';
	let r;
	try {
		r = await fetch(path, {
			method,
			headers,
			body: body === undefined ? undefined : JSON.stringify(body),
			cache: 'no-store',
			credentials: 'omit',
		});
	} catch (e) {
		throw new ApiError(0, `the correlator cannot be reached (${e.message})`);
	}
	const text = await r.text();
	let data = null;
	try {
		data = text ? JSON.parse(text) : null;
	} catch {
		data = null;
	}
	if (!r.ok) {
		const msg = data && typeof data.error === 'string' ? data.error : `HTTP ${r.status}`;
		throw new ApiError(r.status, `${method} ${path}: ${msg}`);
	}
	return data;
}

// The incident's service topology as a graph (cytoscape): anomalous
// services, the calls between them (caller → callee), root-cause candidates
// in red with their rank, services explained by an anomalous dependency in
// amber. Callers sit above their callees, so a fault's path reads downwards.
import cytoscape from 'cytoscape';

const STYLE = [
	{ selector: 'node', style: {
		'background-color': '#9aa5b1', label: 'data(label)', color: '#1f2933',
		'font-size': 13, 'text-valign': 'bottom', 'text-margin-y': 6,
		'text-wrap': 'wrap', 'text-max-width': 160, width: 34, height: 34,
		'border-width': 2, 'border-color': '#52606d',
	} },
	{ selector: 'node[kind = "explained"]', style: { 'background-color': '#f0b429', 'border-color': '#8d6708' } },
	{ selector: 'node[kind = "candidate"]', style: {
		'background-color': '#e12d39', 'border-color': '#610316', width: 44, height: 44,
		'font-weight': 'bold',
	} },
	{ selector: 'node[rank = 1]', style: { width: 54, height: 54, 'border-width': 4 } },
	{ selector: 'node[kind = "context"]', style: { 'background-color': '#e4e7eb', 'border-style': 'dashed' } },
	{ selector: 'edge', style: {
		width: 2, 'line-color': '#7b8794', 'target-arrow-color': '#7b8794',
		'target-arrow-shape': 'triangle', 'curve-style': 'bezier', 'arrow-scale': 1.2,
	} },
	{ selector: 'edge[anomalous = 1]', style: { 'line-color': '#e12d39', 'target-arrow-color': '#e12d39', width: 3 } },
];

// The graph's model from an incident: nodes with kind/rank, edges with
// whether the caller reported the call itself as anomalous.
export function incidentGraph(inc) {
	const br = inc.blast_radius || {};
	const names = new Set(br.service_names || []);
	const ranks = new Map((inc.root_causes || []).map((c) => [c.service, c]));
	const edges = new Map();
	const addEdge = (caller, callee, anomalous) => {
		if (!caller || !callee || caller === callee) return;
		const key = `${caller}\u0000${callee}`;
		const e = edges.get(key) || { caller, callee, anomalous: 0 };
		if (anomalous) e.anomalous = 1;
		edges.set(key, e);
	};
	for (const e of inc.edges || []) addEdge(e.caller, e.callee, false);
	for (const ev of inc.event_list || [])
		for (const d of ev.dependencies || [])
			addEdge(ev.service, d.service || d.endpoint, d.anomalous);
	const nodes = new Map();
	const addNode = (name) => {
		if (nodes.has(name)) return;
		const c = ranks.get(name);
		const kind = c ? 'candidate' : names.has(name) ? 'explained' : 'context';
		nodes.set(name, {
			id: name, kind, rank: c ? c.rank : 0,
			label: c ? `#${c.rank} ${name}` : name,
		});
	};
	for (const n of names) addNode(n);
	for (const e of edges.values()) { addNode(e.caller); addNode(e.callee); }
	return { nodes: [...nodes.values()], edges: [...edges.values()] };
}

export function graphKey(model) {
	return JSON.stringify(model);
}

export function drawGraph(container, model) {
	const callees = new Set(model.edges.map((e) => e.callee));
	const roots = model.nodes.filter((n) => !callees.has(n.id)).map((n) => n.id);
	const cy = cytoscape({
		container,
		elements: [
			...model.nodes.map((n) => ({ data: n })),
			...model.edges.map((e, i) => ({ data: { id: `e${i}`, source: e.caller, target: e.callee, anomalous: e.anomalous } })),
		],
		style: STYLE,
		layout: {
			name: 'breadthfirst', directed: true, padding: 24, spacingFactor: 1.1,
			roots: roots.length ? roots : undefined, animate: false,
		},
		minZoom: 0.3,
		maxZoom: 2.5,
		boxSelectionEnabled: false,
		autoungrabify: false,
	});
	// A lone node or two would be drawn huge: cap the zoom after fitting.
	if (cy.zoom() > 1.4) { cy.zoom(1.4); cy.center(); }
	return cy;
}

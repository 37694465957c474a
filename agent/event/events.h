/*
 * Anomaly events as JSON (seismo.event/v1, docs/event-schema.md) and the
 * batch body agents POST to the correlator. Built with jansson; every
 * function returns NULL / -1 on allocation failure.
 */
#ifndef SEISMO_EVENTS_H
#define SEISMO_EVENTS_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "detector.h"

#define EVENTS_SCHEMA "seismo.event/v1"
#define EVENTS_ID_HEX 33 /* 128-bit hash as hex, with its NUL */

/* A kernel sample of a slow or failed request; NULL strings and pid/status <= 0 are left out. */
struct events_exemplar {
	double time; /* seconds since the epoch */
	double latency_seconds;
	int pid;
	const char *comm;
	const char *local; /* "addr:port" */
	const char *remote;
	const char *method;
	const char *path;
	int status;
};

/* RFC 3339 UTC with second precision: "2026-11-24T14:03:10Z". -1 when t is out of range. */
int events_format_time(double t, char *buf, size_t len);
/* Hex FNV-1a 128 of node, service, metric (and endpoint) and start time. */
void events_anomaly_id(const char *node, const char *service, const char *metric, double starts_at,
		       char out[EVENTS_ID_HEX]);
/* Hex FNV-1a 128 of anomaly_id and state: the same event resent has the same id. */
void events_event_id(const char *anomaly_id, const char *state, char out[EVENTS_ID_HEX]);

/* The detector's event as JSON, its dependencies (event->deps) included. */
json_t *events_build(const struct detector_event *event);
int events_add_exemplar(json_t *event, const struct events_exemplar *exemplar);

json_t *events_batch_new(const char *node, const char *cluster, double sent_at);
/* Takes the reference to event. */
int events_batch_add_event(json_t *batch, json_t *event);
int events_batch_add_edge(json_t *batch, const char *caller, const char *callee,
			  const char *endpoint, double requests);

#endif

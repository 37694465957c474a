/*
 * The web console (docs/console.md): static files built from web/ by
 * mk/web.mk and embedded in the binary, served on the API's port:
 *   GET /            redirect to /console/
 *   GET /console/    the page; /console/app.js, /console/app.css
 * The files hold no secret and need no token; the page asks for the
 * token and sends it on its /api calls like any other client.
 */
#ifndef CORR_CONSOLE_H
#define CORR_CONSOLE_H

#include <stdbool.h>

#include <microhttpd.h>

/* Whether url is one of the console's (so the server hands it here). */
bool corr_console_handles(const char *url);
/* Answers a GET or HEAD of url: the file (gzip when accepted), a redirect, or 404. */
enum MHD_Result corr_console_reply(struct MHD_Connection *c, const char *url);

#endif

/* Node-local remediation on request of seismo-correlator's runbooks:
 * POST /api/v1/actions with a bearer token (actions.token_file) to stop a
 * chaos experiment or restart an allowed systemd unit. Off unless the
 * agent config has an `actions:` section. */
#ifndef SEISMO_ACTIONS_H
#define SEISMO_ACTIONS_H

#include <stddef.h>
#include <yaml.h>

#include "yamlcfg.h"

/* Reads the `actions:` section (node may be NULL: actions stay off). 0 or -1 (y->error). */
int agent_actions_configure(struct yamlcfg *y, yaml_node_t *node);

/* libmicrohttpd handler pieces for POST /api/v1/actions; state is the
 * connection's request state (the body being read). */
struct MHD_Connection;
int agent_actions_http(struct MHD_Connection *conn, const char *upload, size_t *upload_size,
		       void **state);
void agent_actions_completed(void **state);

#endif

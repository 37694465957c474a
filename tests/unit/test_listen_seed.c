/* agent/listen_seed.c on a fake /proc: listening sockets counted per
 * (namespace, port) from net/tcp and net/tcp6, SO_REUSEPORT listeners
 * counted, other states ignored, and each namespace read once however many
 * processes share it (their ns/net files are hard links here, the same
 * inode as the kernel's nsfs gives them). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../agent/collect/listen_seed.h"

static const char header[] =
	"  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
	"timeout inode\n";

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

struct found {
	uint32_t netns[8];
	uint16_t port[8];
	uint32_t sockets[8];
	int n;
};

static void on_port(void *ctx, uint32_t netns, uint16_t port, uint32_t sockets)
{
	struct found *f = ctx;

	assert_true(f->n < 8);
	f->netns[f->n] = netns;
	f->port[f->n] = port;
	f->sockets[f->n] = sockets;
	f->n++;
}

static uint32_t sockets_on(const struct found *f, uint32_t netns, uint16_t port)
{
	for (int i = 0; i < f->n; i++)
		if (f->netns[i] == netns && f->port[i] == port)
			return f->sockets[i];
	return 0;
}

static uint32_t inode_of(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return (uint32_t)st.st_ino;
}

static void mkdirs(const char *root, const char *pid)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", root, pid);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/%s/ns", root, pid);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/%s/net", root, pid);
	assert_int_equal(mkdir(path, 0755), 0);
}

static void test_scan(void **state)
{
	char root[] = "/tmp/seismo-listen-seed.XXXXXX";
	char path[512], path2[512], cmd[600];
	struct found f = { 0 };
	uint32_t ns_a, ns_b;

	(void)state;
	assert_non_null(mkdtemp(root));
	/* pid 10: namespace A. 0x1F90 = 8080 twice (reuseport), 0x4C75 = 19573
	 * established (not listening), ::1 port 0x2328 = 9000 listening. */
	mkdirs(root, "10");
	write_file(root, "10/ns/net", "");
	char tcp[1024];
	snprintf(
		tcp, sizeof(tcp),
		"%s   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1\n"
		"   1: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 2\n"
		"   2: 0100007F:4C75 0100007F:1F90 01 00000000:00000000 00:00000000 00000000 0 0 3\n"
		"   garbage line\n",
		header);
	write_file(root, "10/net/tcp", tcp);
	snprintf(
		tcp, sizeof(tcp),
		"%s   0: 00000000000000000000000001000000:2328 00000000000000000000000000000000:0000 "
		"0A 00000000:00000000 00:00000000 00000000 0 0 4\n",
		header);
	write_file(root, "10/net/tcp6", tcp);
	/* pid 11: the same namespace (a hard link: same inode), a table that
	 * would double the counts if it were read again */
	mkdirs(root, "11");
	snprintf(path, sizeof(path), "%s/10/ns/net", root);
	snprintf(path2, sizeof(path2), "%s/11/ns/net", root);
	assert_int_equal(link(path, path2), 0);
	snprintf(path2, sizeof(path2), "%s/10/net/tcp", root);
	snprintf(tcp, sizeof(tcp), "%s/11/net/tcp", root);
	assert_int_equal(link(path2, tcp), 0);
	snprintf(path2, sizeof(path2), "%s/10/net/tcp6", root);
	snprintf(tcp, sizeof(tcp), "%s/11/net/tcp6", root);
	assert_int_equal(link(path2, tcp), 0);
	/* pid 12: namespace B, 8080 listening once; no tcp6 (no IPv6) */
	mkdirs(root, "12");
	write_file(root, "12/ns/net", "");
	snprintf(
		tcp, sizeof(tcp),
		"%s   0: 0A000001:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 5\n",
		header);
	write_file(root, "12/net/tcp", tcp);
	/* not a process */
	snprintf(path2, sizeof(path2), "%s/self", root);
	assert_int_equal(mkdir(path2, 0755), 0);

	ns_a = inode_of(path);
	snprintf(path2, sizeof(path2), "%s/12/ns/net", root);
	ns_b = inode_of(path2);
	assert_int_equal(listen_seed_scan(root, on_port, &f), 3);
	assert_int_equal(f.n, 3);
	assert_int_equal(sockets_on(&f, ns_a, 8080), 2);
	assert_int_equal(sockets_on(&f, ns_a, 9000), 1);
	assert_int_equal(sockets_on(&f, ns_a, 19573), 0);
	assert_int_equal(sockets_on(&f, ns_b, 8080), 1);

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	assert_int_equal(system(cmd), 0);
}

static void test_missing_root(void **state)
{
	struct found f = { 0 };

	(void)state;
	assert_true(listen_seed_scan("/nonexistent/proc", on_port, &f) < 0);
	assert_int_equal(f.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scan),
		cmocka_unit_test(test_missing_root),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

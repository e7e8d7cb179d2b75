/* receiver_record.c — session records as JSON Lines (one object per session, appended with
 * a single write() so concurrent readers never see half a line), and `receiver sessions`,
 * which prints the last N of them as a table or as the raw JSON.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "receiver.h"

static int rec_fd = -1;

mt_status rcv_records_open(const char *path, struct mt_err *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (fd < 0)
		return mt_err_set(err, MT_ERR_IO, "cannot open %s: %s", path, strerror(errno));
	if (rec_fd >= 0)
		close(rec_fd);
	rec_fd = fd;
	return MT_OK;
}

void rcv_records_append(const char *line)
{
	if (rec_fd < 0)
		return;
	size_t n = strlen(line);
	char *b = malloc(n + 1);
	if (!b)
		return;
	memcpy(b, line, n);
	b[n] = '\n';
	ssize_t w = write(rec_fd, b, n + 1);
	(void)w;
	free(b);
}

void rcv_records_close(void)
{
	if (rec_fd >= 0)
		close(rec_fd);
	rec_fd = -1;
}

static const char *jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

static void print_row(json_t *o, FILE *out)
{
	json_t *cl = json_object_get(o, "client");
	json_t *tls = json_object_get(o, "tls");
	char client[128], tlsd[200], cert[160] = "-";
	snprintf(client, sizeof client, "%s:%lld", jstr(cl, "address"),
	         (long long)json_integer_value(json_object_get(cl, "port")));
	if (json_is_true(json_object_get(o, "starttls_used")) && tls &&
	    json_is_true(json_object_get(tls, "established")))
		snprintf(tlsd, sizeof tlsd, "%s %s", jstr(tls, "protocol"), jstr(tls, "cipher"));
	else if (tls && json_object_get(tls, "error"))
		snprintf(tlsd, sizeof tlsd, "TLS failed: %s", jstr(tls, "error"));
	else
		snprintf(tlsd, sizeof tlsd, "no TLS%s",
		         json_is_true(json_object_get(o, "starttls_offered")) ? " (offered)"
		                                                              : " (not offered)");
	json_t *cc = tls ? json_object_get(tls, "client_cert") : NULL;
	if (cc)
		snprintf(cert, sizeof cert, "%s (%s)", jstr(cc, "subject"),
		         json_is_true(json_object_get(cc, "trusted")) ? "verified"
		                                                      : "not verified");
	json_t *msgs = json_object_get(o, "messages");
	fprintf(out,
	        "%s  ICID %lld  %s (%s)  EHLO %s  group %s/%s\n    %s  SNI %s  client cert %s\n"
	        "    messages %zu  outcome %s%s%s\n",
	        jstr(o, "start"), (long long)json_integer_value(json_object_get(o, "icid")), client,
	        jstr(cl, "rdns")[0] ? jstr(cl, "rdns") : "no rDNS",
	        jstr(o, "ehlo")[0] ? jstr(o, "ehlo") : "-", jstr(o, "sender_group"),
	        jstr(o, "policy"), tlsd, tls && jstr(tls, "sni")[0] ? jstr(tls, "sni") : "-", cert,
	        json_array_size(msgs), jstr(o, "outcome"), jstr(o, "error")[0] ? ": " : "",
	        jstr(o, "error"));
	for (size_t i = 0; i < json_array_size(msgs); i++) {
		json_t *m = json_array_get(msgs, i);
		json_t *r = json_object_get(m, "rcpts");
		fprintf(out, "      MID %lld from <%s> to %zu recipient(s), %lld bytes: %s\n",
		        (long long)json_integer_value(json_object_get(m, "mid")), jstr(m, "from"),
		        json_array_size(r),
		        (long long)json_integer_value(json_object_get(m, "size")),
		        jstr(m, "reply"));
	}
}

int rcv_sessions_cmd(const char *path, unsigned last, bool json, FILE *out, struct mt_err *err)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		if (errno == ENOENT) {
			fprintf(out, "no sessions recorded yet (%s does not exist)\n", path);
			return RCV_EXIT_OK;
		}
		mt_err_set(err, MT_ERR_IO, "cannot read %s: %s", path, strerror(errno));
		return RCV_EXIT_USAGE;
	}
	/* keep the last `last` lines in a ring */
	char **ring = calloc(last ? last : 1, sizeof *ring);
	if (!ring) {
		fclose(f);
		mt_err_set(err, MT_ERR_NOMEM, "out of memory");
		return RCV_EXIT_INTERNAL;
	}
	size_t n = 0;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	while ((len = getline(&line, &cap, f)) > 0) {
		if (!last)
			break;
		size_t slot = n % last;
		free(ring[slot]);
		ring[slot] = mt_strdup(line);
		n++;
	}
	free(line);
	fclose(f);
	size_t have = n < last ? n : last, start = n < last ? 0 : n % last;
	int bad = 0;
	for (size_t i = 0; i < have; i++) {
		char *l = ring[(start + i) % last];
		if (!l)
			continue;
		if (json) {
			fputs(l, out);
			continue;
		}
		json_error_t je;
		json_t *o = json_loads(l, 0, &je);
		if (!o) {
			bad++;
			continue;
		}
		print_row(o, out);
		json_decref(o);
	}
	for (size_t i = 0; i < (last ? last : 1); i++)
		free(ring[i]);
	free(ring);
	if (!json && have == 0)
		fprintf(out, "no sessions recorded yet\n");
	if (bad)
		fprintf(stderr, "receiver: %d unreadable record(s) skipped in %s\n", bad, path);
	return RCV_EXIT_OK;
}
